import type { ServerResponse } from 'node:http';
import type { Request } from 'express';
import { hostname } from 'node:os';
import { normalizeRoot, type PairingCoordinator } from '../core/index.js';
import { setCommonHeaders } from './html.js';
import { loadPageCatalogs, matchLanguage, type PageCatalogs } from './i18n.js';
import {
  codeError,
  codeStatus,
  sendCallbackResult,
  sendCodeForm,
  sendConfirmation,
  sendMessage,
  sendNotBound,
  sendPasteForm,
  type PageContext,
} from './pages.js';
import { crossSitePost, isSecure, pairingClient, pairingCookie, queryOf, readForm } from './requests.js';

/** Express-style handler: Express's `req`/`res` are Node's, with extras such as `req.ip`. */
export type PageHandler = (req: Request, res: ServerResponse) => void;

/** What the page needs of an Express app or router (Node-RED's `RED.httpNode`). */
export interface RouterLike {
  get(path: string, handler: PageHandler): unknown;
  post(path: string, handler: PageHandler): unknown;
}

export interface PairingPageOptions {
  coordinator: PairingCoordinator;
  /** Node-RED's `httpNodeRoot`; default: the coordinator's. */
  httpNodeRoot?: string;
  /** Runtime log for failures of the page itself. Never given a code, token, state or cookie. */
  log?: (message: string) => void;
  /** Message catalogs (default: locales/<lang>/pairing.json found beside the package). */
  catalogs?: PageCatalogs;
  /** The hub's name on the confirmation page (default: the machine's host name). */
  hubName?: string;
}

export interface MountedPairingPage {
  /** `<httpNodeRoot>link` */
  formPath: string;
  /** `<httpNodeRoot>link/continue` */
  continuePath: string;
  /** `<httpNodeRoot>link/callback` */
  callbackPath: string;
}

/**
 * Adds the pairing page's routes to `router`: `GET|POST <root>link` (the code form; a right code
 * sets the pairing cookie and shows what is being authorized), `POST <root>link/continue` (on to
 * the provider) and `GET|POST <root>link/callback` (the provider's answer, or the pasted address).
 * Mount once per runtime; Links come and go through the coordinator.
 */
export function mountPairingPage(router: RouterLike, options: PairingPageOptions): MountedPairingPage {
  const { coordinator } = options;
  const root = options.httpNodeRoot === undefined ? coordinator.httpNodeRoot : normalizeRoot(options.httpNodeRoot);
  const formPath = `${root}link`;
  const continuePath = `${root}link/continue`;
  const callbackPath = `${root}link/callback`;
  const catalogs = options.catalogs ?? loadPageCatalogs();
  const log = options.log ?? (() => undefined);
  const hubName = options.hubName?.trim() || hostname();

  const context = (req: Request): PageContext => {
    // Express (Node-RED's httpNode) negotiates Accept-Language: q-values, `*` and q=0 included.
    const language = matchLanguage(req.acceptsLanguages());
    return { req, language, t: catalogs.translator(language), catalogs, coordinator, hubName, formPath, continuePath, callbackPath, root };
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
  /** A POST handler that refuses cross-site requests and oversized forms before reading anything else. */
  const posted =
    (handler: (page: PageContext, res: ServerResponse, form: URLSearchParams) => Promise<void>, tooLarge: (page: PageContext, res: ServerResponse) => void) =>
    guarded(async (page, res) => {
      if (crossSitePost(page.req)) {
        page.req.resume();
        log('pairing page: refused a form sent from another site');
        return sendMessage(page, res, 403, { title: page.t('result.failedTitle'), message: page.t('errors.cross_site') });
      }
      const form = await readForm(page.req);
      if (!form) return tooLarge(page, res);
      await handler(page, res, form);
    });

  router.get(
    formPath,
    guarded(async (page, res) => {
      const prefill = queryOf(page.req).get('user_code');
      // The browser that entered a code sees it again (to start the sign-in once more); anyone else the form.
      const confirmation = prefill === null ? coordinator.confirmation(pairingClient(page.req).browserKey) : null;
      if (confirmation) return sendConfirmation(page, res, confirmation);
      sendCodeForm(page, res, 200, { prefill: prefill ?? '' });
    }),
  );

  router.post(
    formPath,
    posted(
      async (page, res, form) => {
        const typed = form.get('user_code') ?? '';
        const client = pairingClient(page.req);
        const result = await coordinator.submitCode(typed, client);
        if (result.kind === 'confirm') {
          const headers: Record<string, string> =
            result.browserKey === client.browserKey ? {} : { 'Set-Cookie': pairingCookie(result.browserKey, formPath, isSecure(page.req)) };
          return sendConfirmation(page, res, result.confirmation, headers);
        }
        const { status, headers } = codeStatus(result);
        sendCodeForm(page, res, status, { prefill: typed, error: codeError(page.t, result) }, headers);
      },
      (page, res) => sendCodeForm(page, res, 413, { error: page.t('errors.malformed') }),
    ),
  );

  router.post(
    continuePath,
    posted(
      async (page, res, form) => {
        const result = await coordinator.authorize(form.get('attempt') ?? '', pairingClient(page.req));
        if (result.kind === 'not_bound') return sendNotBound(page, res);
        if (result.kind === 'gone') return sendMessage(page, res, 410, { title: page.t('result.failedTitle'), message: page.t('errors.gone') });
        redirect(res, result.authorizationUrl);
      },
      (page, res) => sendMessage(page, res, 413, { title: page.t('result.failedTitle'), message: page.t('errors.gone') }),
    ),
  );

  router.get(
    callbackPath,
    guarded(async (page, res) => {
      const query = queryOf(page.req);
      // A HEAD (link previews, prefetchers) must not use up the single-use answer.
      if (page.req.method === 'HEAD') return sendPasteForm(page, res, 200);
      if (!query.has('state') && !query.has('code') && !query.has('error')) return sendPasteForm(page, res, 200);
      const result = await coordinator.complete(query, pairingClient(page.req));
      if (result.kind === 'elsewhere') return redirect(res, `${result.origin}${callbackPath}?${query}`);
      sendCallbackResult(page, res, result);
    }),
  );

  router.post(
    callbackPath,
    posted(
      async (page, res, form) => {
        const result = await coordinator.completePasted(form.get('url') ?? '', pairingClient(page.req));
        // A pasted answer is finished where it was pasted: the hand-over is for a browser's own redirect.
        sendCallbackResult(page, res, result.kind === 'elsewhere' ? { kind: 'not_bound' } : result);
      },
      (page, res) => sendPasteForm(page, res, 413, page.t('errors.missing_response')),
    ),
  );

  return { formPath, continuePath, callbackPath };
}

function redirect(res: ServerResponse, location: string): void {
  setCommonHeaders(res);
  res.statusCode = 303;
  res.setHeader('Location', location);
  res.setHeader('Content-Length', 0);
  res.end();
}
