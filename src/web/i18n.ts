import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Languages the pairing page speaks; the first is the fallback for anything missing. */
export const PAGE_LANGUAGES = ['en-US', 'de', 'fr', 'es'] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

type Catalog = Record<string, unknown>;

/** Looks up a message by dotted key and fills `__name__` placeholders (values are not escaped here). */
export type Translate = (key: string, values?: Record<string, string | number>) => string;

export interface PageCatalogs {
  /** Where the catalogs were read from (null when none was found). */
  folder: string | null;
  translator(language: PageLanguage): Translate;
  /** True when `key` exists in `language` or the fallback. */
  has(language: PageLanguage, key: string): boolean;
}

/**
 * The build copies locales/ to dist/nodes/locales/, while tests run src/ directly: look beside the
 * compiled file first, then at the package root.
 */
export function findLocalesFolder(from: string = __dirname): string | null {
  const candidates = [path.resolve(from, '../nodes/locales'), path.resolve(from, '../../locales'), path.resolve(from, '../locales')];
  return candidates.find((folder) => existsSync(path.join(folder, 'en-US', 'pairing.json'))) ?? null;
}

/** Reads `locales/<lang>/pairing.json` for every page language. A missing or broken file falls back to en-US. */
export function loadPageCatalogs(folder: string | null = findLocalesFolder()): PageCatalogs {
  const catalogs = new Map<PageLanguage, Catalog>();
  for (const language of PAGE_LANGUAGES) {
    if (!folder) break;
    try {
      const parsed: unknown = JSON.parse(readFileSync(path.join(folder, language, 'pairing.json'), 'utf8'));
      if (parsed && typeof parsed === 'object') catalogs.set(language, parsed as Catalog);
    } catch {
      // A missing language uses the fallback's texts.
    }
  }
  const lookup = (language: PageLanguage, key: string): string | undefined => {
    for (const catalog of [catalogs.get(language), catalogs.get(PAGE_LANGUAGES[0])]) {
      let node: unknown = catalog;
      for (const part of key.split('.')) node = node && typeof node === 'object' ? (node as Catalog)[part] : undefined;
      if (typeof node === 'string') return node;
    }
    return undefined;
  };
  return {
    folder,
    has: (language, key) => lookup(language, key) !== undefined,
    translator: (language) => (key, values = {}) =>
      (lookup(language, key) ?? key).replace(/__([a-zA-Z0-9_]+?)__/g, (whole, name: string) =>
        name in values ? String(values[name]) : whole,
      ),
  };
}

/** Picks the page language from an Accept-Language header (q-values honoured, `de-AT` → `de`, `en-GB` → `en-US`). */
export function pickLanguage(acceptLanguage: string | undefined): PageLanguage {
  if (!acceptLanguage) return PAGE_LANGUAGES[0];
  const ranked = acceptLanguage
    .slice(0, 512)
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag: tag.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((entry) => entry.tag && entry.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { tag } of ranked) {
    const exact = PAGE_LANGUAGES.find((language) => language.toLowerCase() === tag);
    if (exact) return exact;
    const primary = tag.split('-')[0];
    const byPrimary = PAGE_LANGUAGES.find((language) => language.split('-')[0].toLowerCase() === primary);
    if (byPrimary) return byPrimary;
  }
  return PAGE_LANGUAGES[0];
}
