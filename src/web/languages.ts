// No Node.js imports here: the Dashboard 2.0 widget bundles this file for the browser.

/** Languages the pairing page speaks; the first is the fallback for anything missing. */
export const PAGE_LANGUAGES = ['en-US', 'de', 'fr', 'es'] as const;
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];

/**
 * The first of `preferred` (most wanted first) that the page speaks: the exact tag, else by its
 * primary subtag (`de-AT` → `de`, `en-GB` → `en-US`); the fallback when none fits. On the hub the
 * list is Express's negotiation of `Accept-Language` (`req.acceptsLanguages()`, q-values honoured);
 * in the widget it is the browser's `navigator.languages`.
 */
export function matchLanguage(preferred: readonly string[]): PageLanguage {
  for (const tag of preferred.slice(0, 32).map((t) => t.trim().toLowerCase())) {
    const exact = PAGE_LANGUAGES.find((language) => language.toLowerCase() === tag);
    if (exact) return exact;
    const primary = tag.split('-')[0];
    const byPrimary = PAGE_LANGUAGES.find((language) => language.split('-')[0].toLowerCase() === primary);
    if (byPrimary) return byPrimary;
  }
  return PAGE_LANGUAGES[0];
}
