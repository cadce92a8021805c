import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { englishPrompt, type PromptFormatter } from '../core/index.js';

/** The catalog keys of the prompt: linking for the first time or again, or waiting for the sign-in. */
type PromptKey = 'prompt' | 'promptRelink' | 'promptSignIn';

/**
 * The spoken/displayed prompt in the node's `language`, or the runtime's when it is empty: the
 * code to enter, or (`waitingFor: sign_in`) that the sign-in is under way on the phone.
 * Node-RED loads catalogs only for the runtime's language, so other languages are read from
 * `locales/<lang>/account-link.json` beside this file.
 */
export function promptFormatter(RED: NodeAPI, language: string | undefined): PromptFormatter {
  return (parts) => {
    const key: PromptKey = parts.waitingFor === 'sign_in' ? 'promptSignIn' : parts.relink ? 'promptRelink' : 'prompt';
    const values = { provider: parts.provider, code: parts.code, url: parts.url.replace(/^https?:\/\//, '') };
    const template = language ? promptTemplate(language, key) : undefined;
    if (template) return template.replace(/__(\w+)__/g, (whole, name: string) => values[name as keyof typeof values] ?? whole);
    const text = RED._(`account-link.${key}`, values);
    return text && text !== `account-link.${key}` ? text : englishPrompt(parts);
  };
}

const promptTemplates = new Map<string, string | undefined>();

/** The catalog's prompt for `language` (or its base language, `de` for `de-CH`), read once. */
function promptTemplate(language: string, key: PromptKey): string | undefined {
  const cacheKey = `${language} ${key}`;
  if (!promptTemplates.has(cacheKey)) {
    let found: string | undefined;
    for (const candidate of [language, language.split('-')[0]]) {
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
