// No Node.js imports here: the Dashboard 2.0 widget bundles this file for the browser.

/** Languages the pairing page speaks; the first is the fallback for anything missing. */
export const PAGE_LANGUAGES = ['en-US', 'de', 'fr', 'es'] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

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
