import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PAGE_LANGUAGES, type PageLanguage } from './languages.js';

export { matchLanguage, PAGE_LANGUAGES, type PageLanguage } from './languages.js';

type Catalog = Record<string, unknown>;

/** Looks up a message by dotted key and fills `__name__` placeholders (values are not escaped here). */
export type Translate = (key: string, values?: Record<string, string | number>) => string;

export interface PageCatalogs {
  /** Where the catalogs were read from (null when none was found). */
  folder: string | null;
  translator(language: PageLanguage): Translate;
  /** True when `key` exists in `language` or the fallback. */
  has(language: PageLanguage, key: string): boolean;
  /** Every text under `key`, by dotted sub-key, with the fallback's texts where `language` has none. */
  section(language: PageLanguage, key: string): Record<string, string>;
}

/**
 * The build copies locales/ to dist/nodes/locales/, while tests run src/ directly: look beside the
 * compiled file first, then at the package root.
 */
export function findLocalesFolder(from: string = __dirname): string | null {
  const candidates = [path.resolve(from, '../nodes/locales'), path.resolve(from, '../../locales'), path.resolve(from, '../locales')];
  return candidates.find((folder) => existsSync(path.join(folder, 'en-US', 'pairing.json'))) ?? null;
}

/**
 * Reads `locales/<lang>/<file>` (the pairing page's `pairing.json` unless told) for every page
 * language. A missing or broken file falls back to en-US.
 */
export function loadPageCatalogs(folder: string | null = findLocalesFolder(), file = 'pairing.json'): PageCatalogs {
  const catalogs = new Map<PageLanguage, Catalog>();
  for (const language of PAGE_LANGUAGES) {
    if (!folder) break;
    try {
      const parsed: unknown = JSON.parse(readFileSync(path.join(folder, language, file), 'utf8'));
      if (parsed && typeof parsed === 'object') catalogs.set(language, parsed as Catalog);
    } catch {
      // A missing language uses the fallback's texts.
    }
  }
  const at = (catalog: Catalog | undefined, key: string): unknown => {
    let node: unknown = catalog;
    for (const part of key.split('.')) node = node && typeof node === 'object' ? (node as Catalog)[part] : undefined;
    return node;
  };
  const lookup = (language: PageLanguage, key: string): string | undefined => {
    for (const catalog of [catalogs.get(language), catalogs.get(PAGE_LANGUAGES[0])]) {
      const node = at(catalog, key);
      if (typeof node === 'string') return node;
    }
    return undefined;
  };
  return {
    folder,
    has: (language, key) => lookup(language, key) !== undefined,
    section: (language, key) => {
      const texts: Record<string, string> = {};
      const collect = (node: unknown, prefix: string): void => {
        if (typeof node === 'string') texts[prefix] ??= node;
        else if (node && typeof node === 'object') for (const [name, child] of Object.entries(node)) collect(child, prefix ? `${prefix}.${name}` : name);
      };
      for (const catalog of [catalogs.get(language), catalogs.get(PAGE_LANGUAGES[0])]) collect(at(catalog, key), '');
      return texts;
    },
    translator: (language) => (key, values = {}) =>
      (lookup(language, key) ?? key).replace(/__([a-zA-Z0-9_]+?)__/g, (whole, name: string) =>
        name in values ? String(values[name]) : whole,
      ),
  };
}
