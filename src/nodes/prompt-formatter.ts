import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { englishPrompt, englishSpokenPrompt, type PromptFormatter, type SpeechOptions } from '../core/index.js';

/**
 * The prompts in the catalog: to be read (linking for the first time or again, or waiting for the
 * sign-in) and `promptSpoken`, to be heard.
 */
type PromptKey = 'prompt' | 'promptRelink' | 'promptSignIn' | 'promptSpoken';

/**
 * The spoken/displayed prompt in the node's `language`, or the runtime's when it is empty: the
 * code to enter, or (`waitingFor: sign_in`) that the sign-in is under way on the phone.
 * Node-RED loads catalogs only for the runtime's language, so other languages are read from
 * `locales/<lang>/account-link.json` beside this file.
 */
export function promptFormatter(RED: NodeAPI, language: string | undefined): PromptFormatter {
  return catalogFormatter(
    RED,
    language,
    (parts) => (parts.waitingFor === 'sign_in' ? 'promptSignIn' : parts.relink ? 'promptRelink' : 'prompt'),
    englishPrompt,
    (url) => url.replace(/^https?:\/\//, ''),
  );
}

/**
 * The words of `user_code_spoken` and `prompt_spoken` in the node's `language`, or the runtime's:
 * that language's spelling alphabet, and the catalog's `promptSpoken` sentence around it.
 */
export function speechOptions(RED: NodeAPI, language: string | undefined): SpeechOptions {
  return {
    language: language || runtimeLanguage(RED),
    formatPrompt: catalogFormatter(RED, language, () => 'promptSpoken', englishSpokenPrompt, (url) => url),
  };
}

function catalogFormatter(
  RED: NodeAPI,
  language: string | undefined,
  keyOf: (parts: Parameters<PromptFormatter>[0]) => PromptKey,
  english: PromptFormatter,
  showUrl: (url: string) => string,
): PromptFormatter {
  return (parts) => {
    const key = keyOf(parts);
    const template = language ? promptTemplate(language, key) : undefined;
    const values = { provider: parts.provider, code: parts.code, url: showUrl(parts.url) };
    if (template) return template.replace(/__(\w+)__/g, (whole, name: string) => values[name as keyof typeof values] ?? whole);
    const text = RED._(`account-link.${key}`, values);
    return text && text !== `account-link.${key}` ? text : english(parts);
  };
}

/** The language `RED._` speaks, found as Node-RED finds it: settings `lang`, else the locale variables. */
function runtimeLanguage(RED: NodeAPI): string {
  const lang = (RED.settings as unknown as { lang?: string }).lang;
  if (lang) return lang;
  for (const name of ['LC_ALL', 'LC_MESSAGES', 'LANG']) if (name in process.env) return process.env[name]!.slice(0, 2);
  return 'en-US';
}

const promptTemplates = new Map<string, string | undefined>();

/** The catalog's `key` for `language` (or its base language, `de` for `de-CH`), read once. */
function promptTemplate(language: string, key: PromptKey): string | undefined {
  const cacheKey = `${language}\u0000${key}`;
  if (!promptTemplates.has(cacheKey)) {
    let found: string | undefined;
    for (const candidate of [language, language.split('-')[0]!]) {
      found = catalogPrompt(candidate, key);
      if (found) break;
    }
    promptTemplates.set(cacheKey, found);
  }
  return promptTemplates.get(cacheKey);
}

function catalogPrompt(language: string, key: PromptKey): string | undefined {
  try {
    const file = path.join(__dirname, 'locales', language, 'account-link.json');
    const catalog = JSON.parse(readFileSync(file, 'utf8')) as { 'account-link'?: Partial<Record<PromptKey, string>> };
    return catalog['account-link']?.[key];
  } catch {
    return undefined;
  }
}
