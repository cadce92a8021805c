import { randomInt } from 'node:crypto';

/** Letters without vowels (no words) and without look-alikes of digits. */
export const CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
/** Letters in a code (shown as two groups of four). */
export const CODE_LENGTH = 8;
/** How long a code can be entered. */
export const CODE_LIFETIME_MS = 10 * 60_000;

/** A code from the CSPRNG: `randomInt` draws by rejection, so every letter is equally likely. */
export function randomCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** `BDWPHQPK` → `BDWP-HQPK`. */
export function formatCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What a person typed, as a bare upper-case code; null when it cannot be a code at all. */
export function normalizeCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const bare = input.toUpperCase().replace(/[\s\-‐‑‒–—_.]/g, '');
  if (bare.length !== CODE_LENGTH) return null;
  for (const letter of bare) if (!CODE_ALPHABET.includes(letter)) return null;
  return bare;
}
