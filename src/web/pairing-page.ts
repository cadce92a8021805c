import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  formatCode,
  normalizeCode,
  normalizeRoot,
  suggestedLoopbackRedirect,
  type CallbackResult,
  type CodeResult,
  type LinkError,
  type PairingCoordinator,
} from '../core/index.js';
import { escapeHtml, sendPage, setCommonHeaders } from './html.js';
import { loadPageCatalogs, pickLanguage, type PageCatalogs, type PageLanguage, type Translate } from './i18n.js';

/** Express-style handler: Express's `req`/`res` are Node's, with extras such as `req.ip`. */
export type PageHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** What the page needs of an Express app or router (Node-RED's `RED.httpNode`). */
export interface RouterLike {
  get(path: string, handler: PageHandler): unknown;
  post(path: string, handler: PageHandler): unknown;
}

export interface PairingPageOptions {
  coordinator: PairingCoordinator;
  /** Node-RED's `httpNodeRoot`; default: the coordinator's. */
  httpNodeRoot?: string;
  /** Runtime log for failures of the page itself. Never given a code, token or state. */
  log?: (message: string) => void;
  /** Message catalogs (default: locales/<lang>/pairing.json found beside the package). */
  catalogs?: PageCatalogs;
}

export interface MountedPairingPage {
  /** `<httpNodeRoot>link` */
  formPath: string;
  /** `<httpNodeRoot>link/callback` */
  callbackPath: string;
}

const MAX_FORM_BYTES = 8 * 1024;

/**
 * Adds the pairing page's four routes to `router`:
 * `GET|POST <root>link` (the code form) and `GET|POST <root>link/callback` (the provider's answer,
 * or the pasted address). Mount once per runtime; Links come and go through the coordinator.
 */
export function mountPairingPage(router: RouterLike, options: PairingPageOptions): MountedPairingPage {
  const { coordinator } = options;
  const root = options.httpNodeRoot === undefined ? coordinator.httpNodeRoot : normalizeRoot(options.httpNodeRoot);
  const formPath = `${root}link`;
  const callbackPath = `${root}link/callback`;
  const catalogs = options.catalogs ?? loadPageCatalogs();
  const log = options.log ?? (() => undefined);

  const context = (req: IncomingMessage): PageContext => {
    const language = pickLanguage(headerValue(req, 'accept-language'));
    return { req, language, t: catalogs.translator(language), catalogs, coordinator, formPath, callbackPath, root };
  };
  const guarded =
    (handler: (page: PageContext, res: ServerResponse) => Promise<void>): PageHandler =>
    (req, res) => {
      const page = context(req);
      handler(page, res).catch((err: unknown) => {
        log(`pairing page: ${req.method} failed: ${(err as Error)?.message ?? String(err)}`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendCodeForm(page, res, 500, { error: page.t('errors.server') });
      });
    };

  router.get(
    formPath,
    guarded(async (page, res) => {
      const prefill = queryOf(page.req).get('user_code') ?? '';
      sendCodeForm(page, res, 200, { prefill });
    }),
  );

  router.post(
    formPath,
    guarded(async (page, res) => {
      const form = await readForm(page.req);
      if (!form) return sendCodeForm(page, res, 413, { error: page.t('errors.malformed') });
      const typed = form.get('user_code') ?? '';
      const result = await coordinator.submitCode(typed, clientAddress(page.req));
      if (result.kind === 'redirect') {
        setCommonHeaders(res);
        res.statusCode = 303;
        res.setHeader('Location', result.authorizationUrl);
        res.setHeader('Content-Length', 0);
        res.end();
        return;
      }
      const { status, headers } = statusOf(result);
      sendCodeForm(page, res, status, { prefill: typed, error: codeError(page.t, result) }, headers);
    }),
  );

  router.get(
    callbackPath,
    guarded(async (page, res) => {
      const query = queryOf(page.req);
      // A HEAD (link previews, prefetchers) must not use up the single-use answer.
      if (page.req.method === 'HEAD') return sendPasteForm(page, res, 200);
      if (!query.has('state') && !query.has('code') && !query.has('error')) return sendPasteForm(page, res, 200);
      const result = await coordinator.complete(query, clientAddress(page.req));
      sendCallbackResult(page, res, result);
    }),
  );

  router.post(
    callbackPath,
    guarded(async (page, res) => {
      const form = await readForm(page.req);
      if (!form) return sendPasteForm(page, res, 413, page.t('errors.missing_response'));
      const result = await coordinator.completePasted(form.get('url') ?? '', clientAddress(page.req));
      sendCallbackResult(page, res, result);
    }),
  );

  return { formPath, callbackPath };
}

interface PageContext {
  req: IncomingMessage;
  language: PageLanguage;
  t: Translate;
  catalogs: PageCatalogs;
  coordinator: PairingCoordinator;
  formPath: string;
  callbackPath: string;
  root: string;
}

function sendCodeForm(
  page: PageContext,
  res: ServerResponse,
  status: number,
  parts: { prefill?: string; error?: string },
  headers: Record<string, string> = {},
): void {
  const { t, coordinator } = page;
  const normalized = parts.prefill ? normalizeCode(parts.prefill) : null;
  const prefill = normalized ? formatCode(normalized) : (parts.prefill ?? '').slice(0, 32);
  const nothingPending = coordinator.pendingCount === 0 && !parts.error;
  const pasteHeading = t('paste.heading');
  const showPaste = coordinator.awaitsPastedAddress();
  const body = [
    `<h1>${escapeHtml(t('title'))}</h1>`,
    parts.error ? `<p class="error" role="alert">${escapeHtml(parts.error)}</p>` : '',
    nothingPending ? `<p class="note">${escapeHtml(t('code.nothingPending'))}</p>` : '',
    `<form method="post" action="${escapeHtml(page.formPath)}">`,
    `<p>${escapeHtml(t('code.intro'))}</p>`,
    `<label for="user_code">${escapeHtml(t('code.label'))}</label>`,
    `<input class="code" id="user_code" name="user_code" value="${escapeHtml(prefill)}" required maxlength="32"`,
    ` autocomplete="one-time-code" autocapitalize="characters" autocorrect="off" spellcheck="false" inputmode="text"${prefill ? '' : ' autofocus'}>`,
    `<p class="hint">${escapeHtml(t('code.hint'))}</p>`,
    `<button type="submit">${escapeHtml(t('code.submit'))}</button>`,
    '</form>',
    showPaste
      ? `<p class="note">${escapeHtml(t('loopback.note', { page: pageAddress(page), heading: pasteHeading }))}</p>`
      : '',
    pasteSection(page, showPaste),
  ].join('\n');
  sendPage(res, status, { language: page.language, title: t('title'), body }, coordinator.authorizationOrigins(), headers);
}

/** The paste form; on the code page it is folded away unless a loopback redirect is pending. */
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

function sendPasteForm(page: PageContext, res: ServerResponse, status: number, error?: string): void {
  const { t } = page;
  const body = [
    `<h1>${escapeHtml(t('paste.heading'))}</h1>`,
    error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '',
    pasteSection(page, true).replace(/<h2>.*?<\/h2>\n/, ''),
    `<p><a href="${escapeHtml(page.formPath)}">${escapeHtml(t('result.again'))}</a></p>`,
  ].join('\n');
  sendPage(res, status, { language: page.language, title: t('paste.heading'), body }, page.coordinator.authorizationOrigins());
}

function sendCallbackResult(page: PageContext, res: ServerResponse, result: CallbackResult): void {
  const { t } = page;
  if (result.kind === 'linked') {
    const heading = result.account ? t('result.linkedAs', { account: result.account.name }) : t('result.linkedTitle');
    const body = [
      `<h1>${escapeHtml(heading)}</h1>`,
      `<p class="ok" role="status">${escapeHtml(t('result.linkedBody', { provider: result.provider }))}</p>`,
    ].join('\n');
    sendPage(res, 200, { language: page.language, title: heading, body });
    return;
  }
  if (result.kind === 'missing_response') {
    sendPasteForm(page, res, 400, t('errors.missing_response'));
    return;
  }
  let message: string;
  let status = 400;
  const headers: Record<string, string> = {};
  switch (result.kind) {
    case 'rate_limited': {
      message = t('errors.rate_limited', { minutes: Math.max(1, Math.ceil(result.retryAfterMs / 60_000)) });
      status = 429;
      headers['Retry-After'] = String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
      break;
    }
    case 'invalid_state':
      message = t('errors.invalid_state');
      break;
    case 'state_used':
      message = t('errors.state_used');
      status = 410;
      break;
    case 'failed':
      message = linkErrorText(page, result.error, result.provider, result.redirectUri);
      status = result.error.code === 'access_denied' ? 403 : 502;
      if (result.error.code === 'user_not_registered' || result.error.code === 'code_expired') status = 403;
      break;
  }
  const body = [
    `<h1>${escapeHtml(t('result.failedTitle'))}</h1>`,
    `<p class="error" role="alert">${escapeHtml(message)}</p>`,
    `<p><a href="${escapeHtml(page.formPath)}">${escapeHtml(t('result.again'))}</a></p>`,
  ].join('\n');
  sendPage(res, status, { language: page.language, title: t('result.failedTitle'), body }, [], headers);
}

/** A localized text for the error codes people can act on; the engine's English message otherwise. */
function linkErrorText(page: PageContext, error: LinkError, provider: string, redirectUri: string): string {
  const key = `errors.code.${error.code}`;
  if (!page.catalogs.has(page.language, key)) return error.message;
  return page.t(key, { provider, redirectUri, suggestion: suggestedLoopbackRedirect(redirectUri, page.root) });
}

function codeError(t: Translate, result: Exclude<CodeResult, { kind: 'redirect' }>): string {
  switch (result.kind) {
    case 'wrong':
      return t(result.cancelledCodes > 0 ? 'errors.wrongCancelled' : 'errors.wrong');
    case 'rate_limited':
      return t('errors.rate_limited', { minutes: Math.max(1, Math.ceil(result.retryAfterMs / 60_000)) });
    default:
      return t(`errors.${result.kind}`);
  }
}

function statusOf(result: Exclude<CodeResult, { kind: 'redirect' }>): { status: number; headers: Record<string, string> } {
  if (result.kind === 'rate_limited') {
    return { status: 429, headers: { 'Retry-After': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) } };
  }
  if (result.kind === 'used' || result.kind === 'expired' || result.kind === 'cancelled') return { status: 410, headers: {} };
  return { status: 400, headers: {} };
}

/** The page's own address as the phone used it (for "open … again"); the path alone if the Host header looks odd. */
function pageAddress(page: PageContext): string {
  const host = headerValue(page.req, 'host') ?? '';
  if (!/^[a-zA-Z0-9.\-:[\]]{1,255}$/.test(host)) return page.formPath;
  const secure = Boolean((page.req.socket as { encrypted?: boolean }).encrypted);
  return `${secure ? 'https' : 'http'}://${host}${page.formPath}`;
}

/** The client's address for the per-address limit: Express's `req.ip` (honours `trust proxy`), else the socket's. */
function clientAddress(req: IncomingMessage): string {
  const ip = (req as IncomingMessage & { ip?: unknown }).ip;
  return typeof ip === 'string' && ip ? ip : (req.socket.remoteAddress ?? 'unknown');
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function queryOf(req: IncomingMessage): URLSearchParams {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

/**
 * The urlencoded form of a POST. Uses a body an earlier middleware already parsed; otherwise reads
 * at most MAX_FORM_BYTES. Null when the body is too large.
 */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (typeof parsed === 'string') return new URLSearchParams(parsed.slice(0, MAX_FORM_BYTES));
  if (parsed && typeof parsed === 'object' && !Buffer.isBuffer(parsed) && Object.keys(parsed).length > 0) {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === 'string') form.set(name, value);
    }
    return form;
  }
  if (req.readableEnded) return new URLSearchParams();
  const type = headerValue(req, 'content-type') ?? '';
  const declared = Number(headerValue(req, 'content-length'));
  if (Number.isFinite(declared) && declared > MAX_FORM_BYTES) {
    req.resume();
    return null;
  }
  const body = await new Promise<Buffer | null>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total <= MAX_FORM_BYTES) {
        chunks.push(chunk);
        return;
      }
      // Too large: answer now and let the rest drain unread.
      req.off('data', onData);
      req.resume();
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  if (!body) return null;
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return new URLSearchParams();
  return new URLSearchParams(body.toString('utf8'));
}
