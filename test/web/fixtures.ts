import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Agent, fetch, type Dispatcher } from 'undici';
import { Link } from '../../src/core/link.js';
import { PairingCoordinator, type CodeStyle, type PairingCoordinatorOptions } from '../../src/core/index.js';
import type { ProviderSettings } from '../../src/core/providers.js';
import { TokenStore } from '../../src/core/store.js';
import { mountPairingPage } from '../../src/web/index.js';
import { recorder, tempDir, type Recorder } from '../helpers/core-fixtures.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import type { TestProvider } from '../../demo/sign-in-server.js';

/** A plain express app on loopback with the pairing page mounted, and a way to make Links that use it. */
export interface PairingHub {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  coordinator: PairingCoordinator;
  /** Lines logged by the coordinator and the page. */
  logs: string[];
  /** Every response body and Location header seen by `request`. */
  seen: string[];
  /** Bodies of the requests the Links sent to the provider (token requests carry the PKCE verifier). */
  providerRequests: string[];
  request(path: string, init?: { method?: string; form?: Record<string, string>; headers?: Record<string, string> }): Promise<HubResponse>;
  newLink(options?: {
    redirectUri?: string;
    slug?: string;
    settings?: Partial<ProviderSettings>;
    watch?: boolean;
    /** Where the Link's provider requests go (default: the real provider, recorded). */
    dispatcher?: Dispatcher;
    codeStyle?: CodeStyle;
  }): Promise<{ link: Link; rec: Recorder; store: TokenStore }>;
  close(): Promise<void>;
}

export interface HubResponse {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

export async function startPairingHub(options: {
  provider: TestProvider;
  clock: ManualClock;
  httpNodeRoot?: string;
  coordinator?: Partial<PairingCoordinatorOptions>;
}): Promise<PairingHub> {
  const logs: string[] = [];
  const seen: string[] = [];
  const root = options.httpNodeRoot ?? '/';
  const coordinator = new PairingCoordinator({
    httpNodeRoot: root,
    clock: options.clock,
    log: (line) => void logs.push(line),
    ...options.coordinator,
  });
  const app = express();
  mountPairingPage(app, { coordinator, log: (line) => void logs.push(line) });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  const links: Link[] = [];
  let counter = 0;
  const providerRequests: string[] = [];
  const providerAgent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  const recordingDispatcher = providerAgent.compose((dispatch) => (opts, handler) => {
    const body: unknown = opts.body;
    if (typeof body === 'string') providerRequests.push(body);
    else if (body instanceof Uint8Array) providerRequests.push(Buffer.from(body).toString('utf8'));
    else if (body && typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      // fetch hands the body over as a stream: record it while passing it on.
      const source = body as AsyncIterable<Uint8Array | string>;
      const index = providerRequests.push('') - 1;
      const recorded = (async function* () {
        for await (const chunk of source) {
          providerRequests[index] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
          yield chunk;
        }
      })();
      return dispatch({ ...opts, body: recorded as unknown as typeof opts.body }, handler);
    }
    return dispatch(opts, handler);
  });

  return {
    url,
    port,
    coordinator,
    logs,
    seen,
    providerRequests,
    async request(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      let body: string | undefined;
      if (init.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(init.form).toString();
      }
      const response = await fetch(new URL(path, url), {
        method: init.method ?? (init.form ? 'POST' : 'GET'),
        headers,
        body,
        redirect: 'manual',
        dispatcher,
      });
      const text = await response.text();
      const location = response.headers.get('location');
      seen.push(text);
      if (location) seen.push(location);
      return { status: response.status, headers: response.headers as unknown as Headers, text, location };
    },
    async newLink(linkOptions = {}) {
      const store = await TokenStore.open(await tempDir());
      const rec = recorder();
      const slug = linkOptions.slug ?? `web-${++counter}`;
      const settings: ProviderSettings = {
        provider: 'oidc',
        issuer: options.provider.issuer,
        clientId: options.provider.clientId,
        flow: 'pairing',
        ...linkOptions.settings,
      };
      // eslint-disable-next-line prefer-const
      let link: Link;
      const pairing = coordinator.method({
        publicUrl: url,
        redirectUri: linkOptions.redirectUri,
        source: linkOptions.watch === false ? undefined : () => link,
        codeStyle: linkOptions.codeStyle,
      });
      link = new Link({
        id: slug,
        slug,
        settings,
        store,
        clock: options.clock,
        logger: rec.logger,
        pairing,
        http: { dispatcher: linkOptions.dispatcher ?? recordingDispatcher },
      });
      rec.attach(link);
      links.push(link);
      return { link, rec, store };
    },
    async close() {
      await Promise.all(links.map((link) => link.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dispatcher.close();
      await providerAgent.close();
    },
  };
}

/** The text of a page without tags, whitespace squeezed (for asserting on what a person reads). */
export function visibleText(html: string): string {
  return html
    .replace(/<head[\s\S]*?<\/head>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&#34;/g, '"')
    .replace(/&#38;/g, '&')
    .replace(/&#60;/g, '<')
    .replace(/&#62;/g, '>')
    .replace(/\s+/g, ' ')
    .trim();
}
