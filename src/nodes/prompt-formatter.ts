import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import {
  englishPrompt,
  englishRelinkPrompt,
  englishSpokenPrompt,
  type PromptFormatter,
  type RelinkPromptFormatter,
  type SpeechOptions,
} from '../core/index.js';

/**
 * The displayed prompt in the node's `language`, or the runtime's when it is empty: the code to
 * enter ("To link …", "To relink …"), or (`waitingFor: sign_in`) that the sign-in is under way.
 * Node-RED loads catalogs only for the runtime's language, so other languages are read from
 * `locales/<lang>/account-link.json` beside this file.
 */
export function promptFormatter(RED: NodeAPI, language: string | undefined): PromptFormatter {
  return (parts) => {
    const key = parts.waitingFor === 'sign_in' ? 'promptSignIn' : parts.relink ? 'promptRelink' : 'prompt';
    const values = { provider: parts.provider, code: parts.code, url: parts.url.replace(/^https?:\/\//, '') };
    return localized(RED, language, key, values) ?? englishPrompt(parts);
  };
}

/**
 * The words of `user_code_spoken` and `prompt_spoken` in the node's `language`, or the runtime's:
 * that language's spelling alphabet, and the catalog's `promptSpoken` sentence around it.
 */
export function speechOptions(RED: NodeAPI, language: string | undefined): SpeechOptions {
  return {
    language: language || runtimeLanguage(RED),
    formatPrompt: (parts) =>
      localized(RED, language, parts.relink ? 'promptSpokenRelink' : 'promptSpoken', { provider: parts.provider, code: parts.code, url: parts.url }) ??
      englishSpokenPrompt(parts),
  };
}

/** The language `RED._` speaks, found as Node-RED finds it: settings `lang`, else the locale variables. */
function runtimeLanguage(RED: NodeAPI): string {
  const lang = (RED.settings as unknown as { lang?: string }).lang;
  if (lang) return lang;
  for (const name of ['LC_ALL', 'LC_MESSAGES', 'LANG']) if (name in process.env) return process.env[name]!.slice(0, 2);
  return 'en-US';
}

/**
 * The prompt of a link whose end is near, in the node's language: when it ends (the date in that
 * language), and why it lasts so little when the profile knows (a Google app in Testing).
 */
export function relinkPromptFormatter(RED: NodeAPI, language: string | undefined): RelinkPromptFormatter {
  return (parts) => {
    const date = new Date(parts.endsAt).toLocaleDateString(language || undefined, { dateStyle: 'long' });
    const key = parts.daysLeft <= 1 ? 'relinkPrompt.day' : 'relinkPrompt.days';
    const sentence = localized(RED, language, key, { provider: parts.provider, days: String(parts.daysLeft), date });
    if (sentence === undefined) return englishRelinkPrompt(parts);
    const reason = parts.reason ? (localized(RED, language, `hint.${parts.reason.hint}`, {}) ?? parts.reason.english) : undefined;
    return reason ? `${sentence} ${reason}` : sentence;
  };
}

/** `account-link.<key>` with `__name__` placeholders filled, or undefined when no catalog has it. */
function localized(RED: NodeAPI, language: string | undefined, key: string, values: Record<string, string>): string | undefined {
  const template = language ? catalogTemplate(language, key) : undefined;
  if (template) return template.replace(/__(\w+)__/g, (whole, name: string) => values[name] ?? whole);
  const text = RED._(`account-link.${key}`, values);
  return text && text !== `account-link.${key}` ? text : undefined;
}

const catalogs = new Map<string, Record<string, unknown> | undefined>();

/** The catalog text at `key` for `language` (or its base language, `de` for `de-CH`). */
function catalogTemplate(language: string, key: string): string | undefined {
  for (const candidate of [language, language.split('-')[0]!]) {
    let value: unknown = catalog(candidate);
    for (const part of key.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** The `account-link` section of a language's catalog, read once. */
function catalog(language: string): Record<string, unknown> | undefined {
  if (!catalogs.has(language)) {
    try {
      const file = path.join(__dirname, 'locales', language, 'account-link.json');
      catalogs.set(language, (JSON.parse(readFileSync(file, 'utf8')) as { 'account-link'?: Record<string, unknown> })['account-link']);
    } catch {
      catalogs.set(language, undefined);
    }
  }
  return catalogs.get(language);
}
