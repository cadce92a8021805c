import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { englishPrompt, type PromptFormatter } from '../core/index.js';

/**
 * The spoken/displayed prompt in the node's `language`, or the runtime's when it is empty.
 * Node-RED loads catalogs only for the runtime's language, so other languages are read from
 * `locales/<lang>/account-link.json` beside this file.
 */
export function promptFormatter(RED: NodeAPI, language: string | undefined): PromptFormatter {
  const template = language ? promptTemplate(language) : undefined;
  return (parts) => {
    const values = { ...parts, url: parts.url.replace(/^https?:\/\//, '') };
    if (template) return template.replace(/__(\w+)__/g, (whole, name: string) => values[name as keyof typeof values] ?? whole);
    const text = RED._('account-link.prompt', values);
    return text && text !== 'account-link.prompt' ? text : englishPrompt(parts);
  };
}

const promptTemplates = new Map<string, string | undefined>();

/** The catalog's prompt for `language` (or its base language, `de` for `de-CH`), read once. */
function promptTemplate(language: string): string | undefined {
  if (!promptTemplates.has(language)) {
    let found: string | undefined;
    for (const candidate of [language, language.split('-')[0]]) {
      found = catalogPrompt(candidate);
      if (found) break;
    }
    promptTemplates.set(language, found);
  }
  return promptTemplates.get(language);
}

function catalogPrompt(language: string): string | undefined {
  try {
    const file = path.join(__dirname, 'locales', language, 'account-link.json');
    const catalog = JSON.parse(readFileSync(file, 'utf8')) as { 'account-link'?: { prompt?: string } };
    return catalog['account-link']?.prompt;
  } catch {
    return undefined;
  }
}
