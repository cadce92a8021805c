import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  formatCode,
  isLoopbackRedirect,
  normalizeCode,
  suggestedLoopbackRedirect,
  type CallbackResult,
  type CodeResult,
  type LinkError,
  type PairingConfirmation,
  type PairingCoordinator,
} from '../core/index.js';
import { escapeHtml, sendPage } from './html.js';
import type { PageCatalogs, PageLanguage, Translate } from './i18n.js';
import { requestOrigin } from './requests.js';

/** The pages the pairing page answers with. Every text comes from locales/<lang>/pairing.json. */

/** One request's view of the page: its language, texts and paths. */
export interface PageContext {
  req: IncomingMessage;
  language: PageLanguage;
  t: Translate;
  catalogs: PageCatalogs;
  coordinator: PairingCoordinator;
  hubName: string;
  formPath: string;
  continuePath: string;
  callbackPath: string;
  root: string;
}

/** The code form: the same for everyone who has not entered a code, whether or not one is waiting. */
export function sendCodeForm(
  page: PageContext,
  res: ServerResponse,
  status: number,
  parts: { prefill?: string; error?: string },
  headers: Record<string, string> = {},
): void {
  const { t } = page;
  const normalized = parts.prefill ? normalizeCode(parts.prefill) : null;
  const prefill = normalized ? formatCode(normalized) : (parts.prefill ?? '').slice(0, 32);
  const body = [
    `<h1>${escapeHtml(t('title'))}</h1>`,
    parts.error ? `<p class="error" role="alert">${escapeHtml(parts.error)}</p>` : '',
    `<form method="post" action="${escapeHtml(page.formPath)}">`,
    `<p>${escapeHtml(t('code.intro'))}</p>`,
    `<label for="user_code">${escapeHtml(t('code.label'))}</label>`,
    `<input class="code" id="user_code" name="user_code" value="${escapeHtml(prefill)}" required maxlength="32"`,
    ` autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" inputmode="text"${prefill ? '' : ' autofocus'}>`,
    `<p class="hint">${escapeHtml(t('code.hint'))}</p>`,
    `<button type="submit">${escapeHtml(t('code.submit'))}</button>`,
    '</form>',
    pasteSection(page, false),
  ].join('\n');
  sendPage(res, status, { language: page.language, title: t('title'), body }, [], headers);
}

/**
 * After a right code (RFC 8628 §5.4): what is being authorized, the warning, and one Continue
 * button. Shown again to the same browser to start the sign-in once more.
 */
export function sendConfirmation(page: PageContext, res: ServerResponse, confirmation: PairingConfirmation, headers: Record<string, string> = {}): void {
  const { t } = page;
  const { provider } = confirmation;
  const loopback = isLoopbackRedirect(confirmation.redirectUri);
  const minutesAgo = Math.floor(confirmation.codeAgeMs / 60_000);
  const made = `${new Intl.DateTimeFormat(page.language, { timeStyle: 'short' }).format(confirmation.codeMadeAt)} (${new Intl.RelativeTimeFormat(page.language, { numeric: 'auto' }).format(-minutesAgo, 'minute')})`;
  const title = t('confirm.title', { provider });
  const body = [
    `<h1>${escapeHtml(title)}</h1>`,
    confirmation.lastError
      ? `<p class="error" role="alert">${escapeHtml(t('confirm.lastTry', { problem: linkErrorText(page, confirmation.lastError, provider, confirmation.redirectUri) }))}</p>`
      : '',
    '<dl>',
    ...[
      [t('confirm.hub'), page.hubName],
      [t('confirm.link'), confirmation.linkName],
      [t('confirm.provider'), provider],
      [t('confirm.made'), made],
    ].map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`),
    '</dl>',
    `<p class="warn">${escapeHtml(t('confirm.warning', { provider }))}</p>`,
    `<form method="post" action="${escapeHtml(page.continuePath)}">`,
    `<input type="hidden" name="attempt" value="${escapeHtml(confirmation.attempt)}">`,
    `<button type="submit">${escapeHtml(t('confirm.continue', { provider }))}</button>`,
    '</form>',
    loopback ? `<p class="note">${escapeHtml(t('loopback.note', { page: pageAddress(page), heading: t('paste.heading') }))}</p>` : '',
    pasteSection(page, loopback),
  ].join('\n');
  // form-action is checked along the redirects after Continue, to the provider and (for a person it
  // sends straight back) on to the redirect URI.
  const formTargets = [...page.coordinator.authorizationOrigins(), new URL(confirmation.redirectUri).origin];
  sendPage(res, 200, { language: page.language, title, body }, formTargets, headers);
}

/** A short page with a heading, a message and the way back to the form. */
export function sendMessage(
  page: PageContext,
  res: ServerResponse,
  status: number,
  parts: { title: string; message: string; headers?: Record<string, string> },
): void {
  const body = [
    `<h1>${escapeHtml(parts.title)}</h1>`,
    `<p class="error" role="alert">${escapeHtml(parts.message)}</p>`,
    `<p><a href="${escapeHtml(page.formPath)}">${escapeHtml(page.t('result.again'))}</a></p>`,
  ].join('\n');
  sendPage(res, status, { language: page.language, title: parts.title, body }, [], parts.headers);
}

/** 403 for a browser that did not enter the code: it is told where to finish, and nothing changes. */
export function sendNotBound(page: PageContext, res: ServerResponse): void {
  sendMessage(page, res, 403, { title: page.t('elsewhere.title'), message: page.t('elsewhere.body') });
}

/** The paste form; on the code page it is folded away. */
function pasteSection(page: PageContext, open: boolean): string {
  const { t } = page;
  const form = [
    `<form method="post" action="${escapeHtml(page.callbackPath)}">`,
    `<p>${escapeHtml(t('paste.intro'))}</p>`,
    `<label for="url">${escapeHtml(t('paste.label'))}</label>`,
    '<input id="url" name="url" type="text" inputmode="url" autocomplete="off" autocapitalize="off" spellcheck="false" required maxlength="4096" placeholder="http://127.0.0.1:1880/link/callback?code=…">',
    `<button type="submit">${escapeHtml(t('paste.submit'))}</button>`,
    '</form>',
  ].join('\n');
  if (open) return `<section id="paste">\n<h2>${escapeHtml(t('paste.heading'))}</h2>\n${form}\n</section>`;
  return `<section id="paste"><details>\n<summary>${escapeHtml(t('paste.heading'))}</summary>\n${form}\n</details></section>`;
}

export function sendPasteForm(page: PageContext, res: ServerResponse, status: number, error?: string): void {
  const { t } = page;
  const body = [
    `<h1>${escapeHtml(t('paste.heading'))}</h1>`,
    error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '',
    pasteSection(page, true).replace(/<h2>.*?<\/h2>\n/, ''),
    `<p><a href="${escapeHtml(page.formPath)}">${escapeHtml(t('result.again'))}</a></p>`,
  ].join('\n');
  sendPage(res, status, { language: page.language, title: t('paste.heading'), body });
}

/** What the person sees when the provider's answer (or the pasted address) reached the hub. */
export function sendCallbackResult(page: PageContext, res: ServerResponse, result: Exclude<CallbackResult, { kind: 'elsewhere' }>): void {
  const { t } = page;
  switch (result.kind) {
    case 'linked': {
      const heading = result.account ? t('result.linkedAs', { account: result.account.name }) : t('result.linkedTitle');
      const body = [
        `<h1>${escapeHtml(heading)}</h1>`,
        `<p class="ok" role="status">${escapeHtml(t('result.linkedBody', { provider: result.provider }))}</p>`,
      ].join('\n');
      return sendPage(res, 200, { language: page.language, title: heading, body });
    }
    case 'missing_response':
      return sendPasteForm(page, res, 400, t('errors.missing_response'));
    case 'not_bound':
      return sendNotBound(page, res);
    case 'rate_limited':
      return sendMessage(page, res, 429, { title: t('result.failedTitle'), message: rateLimitedText(t, result.retryAfterMs), headers: retryAfter(result.retryAfterMs) });
    case 'invalid_state':
      return sendMessage(page, res, 400, { title: t('result.failedTitle'), message: t('errors.invalid_state') });
    case 'state_used':
      return sendMessage(page, res, 410, { title: t('result.failedTitle'), message: t('errors.state_used') });
    case 'failed':
      break;
  }
  const message = linkErrorText(page, result.error, result.provider, result.redirectUri);
  const code = result.error.code;
  const status = code === 'access_denied' || code === 'user_not_registered' || code === 'code_expired' ? 403 : 502;
  const retry = result.retry
    ? [
        `<p>${escapeHtml(t('result.retryNote', { time: new Intl.DateTimeFormat(page.language, { timeStyle: 'short' }).format(result.retry.expiresAt) }))}</p>`,
        `<p><a href="${escapeHtml(page.formPath)}">${escapeHtml(t('result.retry', { provider: result.provider }))}</a></p>`,
      ]
    : [`<p><a href="${escapeHtml(page.formPath)}">${escapeHtml(t('result.again'))}</a></p>`];
  const body = [`<h1>${escapeHtml(t('result.failedTitle'))}</h1>`, `<p class="error" role="alert">${escapeHtml(message)}</p>`, ...retry].join('\n');
  sendPage(res, status, { language: page.language, title: t('result.failedTitle'), body });
}

/** The words for a code the page refused. */
export function codeError(t: Translate, result: Exclude<CodeResult, { kind: 'confirm' }>): string {
  switch (result.kind) {
    case 'wrong':
      return t(result.cancelledCodes > 0 ? 'errors.wrongCancelled' : 'errors.wrong');
    case 'rate_limited':
      return rateLimitedText(t, result.retryAfterMs);
    default:
      return t(`errors.${result.kind}`);
  }
}

/** The status and headers for a code the page refused. */
export function codeStatus(result: Exclude<CodeResult, { kind: 'confirm' }>): { status: number; headers: Record<string, string> } {
  if (result.kind === 'rate_limited') return { status: 429, headers: retryAfter(result.retryAfterMs) };
  if (result.kind === 'used' || result.kind === 'expired' || result.kind === 'cancelled') return { status: 410, headers: {} };
  return { status: 400, headers: {} };
}

function rateLimitedText(t: Translate, retryAfterMs: number): string {
  return t('errors.rate_limited', { minutes: Math.max(1, Math.ceil(retryAfterMs / 60_000)) });
}

function retryAfter(retryAfterMs: number): Record<string, string> {
  return { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
}

/** A localized text for the error codes people can act on; the engine's English message otherwise. */
function linkErrorText(page: PageContext, error: LinkError, provider: string, redirectUri: string): string {
  const key = `errors.code.${error.code}`;
  if (!page.catalogs.has(page.language, key)) return error.message;
  return page.t(key, { provider, redirectUri, suggestion: suggestedLoopbackRedirect(redirectUri, page.root) });
}

/** The page's own address as the phone used it (for "open … again"); the path alone if the Host header looks odd. */
function pageAddress(page: PageContext): string {
  const origin = requestOrigin(page.req);
  return origin ? `${origin}${page.formPath}` : page.formPath;
}
