/**
 * What the widget shows for a snapshot, kept apart from the Vue component so it is plain,
 * type-checked TypeScript: the language, the words, the buttons, the countdown and the dates.
 * The rules follow the editor's "Link account" panel (nodes/account-link.html).
 */
import type { LinkAction, Snapshot } from '../src/core/index.js';
import { matchLanguage, type PageLanguage } from '../src/web/languages.js';
import type { WidgetTexts, WidgetTextSection } from '../src/web/widget-view.js';

/** Looks a text up by section and key and fills its `__name__` placeholders; a missing text shows its key. */
export type WidgetTranslate = (section: WidgetTextSection, key: string, values?: Record<string, string>) => string;

/** The widget's language: the node's `language` setting, else the first the browser prefers that the catalogs have. */
export function widgetLanguage(setting: string | undefined, browser: readonly string[]): PageLanguage {
  return matchLanguage(setting ? [setting] : browser);
}

/** The words of one language. */
export function translator(texts: WidgetTexts | undefined, language: PageLanguage): WidgetTranslate {
  return (section, key, values = {}) => {
    const text = texts?.[language]?.[section]?.[key] ?? `${section}.${key}`;
    return text.replace(/__([a-zA-Z0-9_]+?)__/g, (whole, name: string) => values[name] ?? whole);
  };
}

/** A button: the action it asks the runtime for and its label in the editor panel's words. */
export interface WidgetButton {
  action: LinkAction;
  label: 'start' | 'relink' | 'cancel' | 'refresh' | 'revoke';
}

/** Link (or Relink), Cancel while a code is shown, Refresh when linked, Revoke while the hub holds tokens. */
export function buttonsFor(snapshot: Snapshot | null): WidgetButton[] {
  if (!snapshot) return [];
  const { state } = snapshot;
  if (state === 'pending') return [{ action: 'cancel', label: 'cancel' }];
  const buttons: WidgetButton[] = [{ action: 'start', label: state === 'linked' || state === 'relink_required' ? 'relink' : 'start' }];
  if (state === 'linked') buttons.push({ action: 'refresh', label: 'refresh' });
  if (state === 'linked' || state === 'relink_required' || state === 'error' || snapshot.account) buttons.push({ action: 'revoke', label: 'revoke' });
  return buttons;
}

/** Time left as `m:ss`. */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** A date as the language writes it, e.g. "12 March 2026". */
export function formatDate(iso: string, language: PageLanguage): string {
  return new Date(iso).toLocaleDateString(language, { year: 'numeric', month: 'long', day: 'numeric' });
}

/**
 * The code spelled for a speaker (`user_code_spoken`), when the runtime sends one. Read by field
 * name: it comes with spoken codes, and a runtime without them sends snapshots without it.
 */
export function spokenCode(snapshot: Snapshot | null): string | null {
  const spoken = (snapshot as (Snapshot & { user_code_spoken?: unknown }) | null)?.user_code_spoken;
  return typeof spoken === 'string' && spoken ? spoken : null;
}
