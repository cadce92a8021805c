import { qrcode, type ErrorSummary, type Snapshot } from '../core/index.js';
import { findLocalesFolder, loadPageCatalogs } from './i18n.js';
import { PAGE_LANGUAGES, type PageLanguage } from './languages.js';

/**
 * What the Dashboard 2.0 widget `ui-account-link` is sent, live (`msg-input:<id>`) and on page load
 * (Dashboard's data store). Only the snapshot and a QR of the public address: never a secret.
 */
export interface WidgetMessage {
  /** The link's snapshot; null when the widget has no usable account. */
  payload: Snapshot | null;
  /** PNG data URL of the address the code is entered at, while a code is shown. */
  qr: string | null;
  /** Besides the snapshot: why the widget has no usable account, or the action that just failed. */
  error: ErrorSummary | null;
}

/** The catalog sections the widget reads its words from. */
export type WidgetTextSection = 'widget' | 'panel' | 'state' | 'errors' | 'provider';

/** The catalogs' words the widget shows, per language; the browser picks one. */
export type WidgetTexts = Record<PageLanguage, Record<WidgetTextSection, Record<string, string>>>;

let texts: WidgetTexts | undefined;

/**
 * The widget's words in every language: its own (`ui-account-link.widget` in ui-account-link.json)
 * and those it shares with the editor's "Link account" panel in account-link.json (the panel's
 * texts, link states, error words, provider names). The package's catalogs are read once per
 * runtime; `folder` reads others (tests).
 */
export function widgetTexts(folder?: string | null): WidgetTexts {
  if (folder !== undefined) return readWidgetTexts(folder);
  return (texts ??= readWidgetTexts(findLocalesFolder()));
}

function readWidgetTexts(folder: string | null): WidgetTexts {
  const own = loadPageCatalogs(folder, 'ui-account-link.json');
  const link = loadPageCatalogs(folder, 'account-link.json');
  const entries = PAGE_LANGUAGES.map((language) => [
    language,
    {
      widget: own.section(language, 'ui-account-link.widget'),
      panel: link.section(language, 'account-link.panel'),
      state: link.section(language, 'account-link.state'),
      errors: link.section(language, 'account-link.errors'),
      provider: link.section(language, 'account-link.provider'),
    },
  ]);
  return Object.fromEntries(entries) as WidgetTexts;
}

/**
 * Makes the widget's messages for one widget. The QR is drawn once per code: a page that loads
 * again, or another change while the same code is shown, reuses it.
 */
export function widgetMessages(): (snapshot: Snapshot | null, error?: ErrorSummary | null) => Promise<WidgetMessage> {
  let drawn: { url: string; image: Promise<string> } | undefined;
  return async (snapshot, error = null) => {
    const url = snapshot?.state === 'pending' ? (snapshot.verification_uri_complete ?? snapshot.verification_uri) : null;
    if (url && drawn?.url !== url) drawn = { url, image: qrcode().toDataURL(url, { errorCorrectionLevel: 'M', margin: 1, width: 240 }) };
    return { payload: snapshot, qr: url ? await drawn!.image : null, error };
  };
}
