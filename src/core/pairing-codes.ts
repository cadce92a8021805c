import { randomInt } from 'node:crypto';

/** Letters without vowels (no words) and without look-alikes of digits. */
export const CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
/** Letters in a code (shown as two groups of four). */
export const CODE_LENGTH = 8;
/** Digits in a `digits` code (shown as three groups of three). */
export const DIGIT_CODE_LENGTH = 9;
/** How long a code can be entered. */
export const CODE_LIFETIME_MS = 10 * 60_000;

/**
 * How the pairing page's codes look: `letters` (`BDWP-HQPK`, 20⁸ ≈ 2.6·10¹⁰ codes) or `digits`
 * (`123-456-789`, 10⁹ codes), which a speaker says and a keypad types more easily.
 */
export type CodeStyle = 'letters' | 'digits';

/** Every code style, the default first. */
export const CODE_STYLES: readonly CodeStyle[] = ['letters', 'digits'];

/** The style named by a setting; anything unknown is the default, `letters`. */
export function codeStyleOf(value: unknown): CodeStyle {
  return value === 'digits' ? 'digits' : 'letters';
}

/** A code from the CSPRNG: `randomInt` draws by rejection, so every symbol is equally likely. */
export function randomCode(style: CodeStyle = 'letters'): string {
  const [symbols, length] = style === 'digits' ? ['0123456789', DIGIT_CODE_LENGTH] : [CODE_ALPHABET, CODE_LENGTH];
  let code = '';
  for (let i = 0; i < length; i++) code += symbols[randomInt(symbols.length)];
  return code;
}

/** `BDWPHQPK` → `BDWP-HQPK`; `123456789` → `123-456-789`. */
export function formatCode(code: string): string {
  const group = code.length === DIGIT_CODE_LENGTH ? 3 : 4;
  return code.match(new RegExp(`.{1,${group}}`, 'g'))?.join('-') ?? code;
}

/** What a person typed, as a bare upper-case code of either style; null when it cannot be a code at all. */
export function normalizeCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const bare = input.toUpperCase().replace(/[\s\-‐‑‒–—_.]/g, '');
  if (bare.length === DIGIT_CODE_LENGTH && /^[0-9]+$/.test(bare)) return bare;
  if (bare.length !== CODE_LENGTH) return null;
  for (const letter of bare) if (!CODE_ALPHABET.includes(letter)) return null;
  return bare;
}
