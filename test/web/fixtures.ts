import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Agent, request, type Dispatcher } from 'undici';
import { Link } from '../../src/core/link.js';
import { normalizeRoot, PairingCoordinator, type CodeStyle, type PairingCoordinatorOptions } from '../../src/core/index.js';
import type { ProviderSettings } from '../../src/core/providers.js';
import { TokenStore } from '../../src/core/store.js';
import { mountPairingPage } from '../../src/web/index.js';
import { recorder, tempDir, type Recorder } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { cleanupTempDirs } from '../helpers/core-fixtures.js';
import { startTestProvider, type TestProvider, type TestProviderOptions } from '../../demo/sign-in-server.js';

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
  /** The default browser's cookies. */
  cookies: Map<string, string>;
  /** A request from the default browser (its own cookie jar, from 127.0.0.1). */
  request(path: string, init?: RequestInit): Promise<HubResponse>;
  /** Another browser: its own cookie jar, and its own loopback source address when given (e.g. 127.0.0.2). */
  browser(options?: { address?: string }): HubBrowser;
  /** Enters `code` and presses Continue on the confirmation page; returns the provider's authorize URL. */
  enterCode(code: string, browser?: HubBrowser): Promise<string>;
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

export interface RequestInit {
  method?: string;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Send no cookie (the jar still records what the hub sets). */
  noCookies?: boolean;
}

/** One browser as the hub sees it: a cookie jar and a source address. */
export interface HubBrowser {
  request(path: string, init?: RequestInit): Promise<HubResponse>;
  /** Cookies the hub set, by name. */
  cookies: Map<string, string>;
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
  const agents: Agent[] = [];
  const browser = (browserOptions: { address?: string } = {}): HubBrowser => {
    const agent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10, localAddress: browserOptions.address });
    agents.push(agent);
    const cookies = new Map<string, string>();
    return {
      cookies,
      async request(path, init = {}) {
        const headers: Record<string, string> = { ...init.headers };
        let body: string | undefined;
        if (init.form) {
          headers['content-type'] = 'application/x-www-form-urlencoded';
          body = new URLSearchParams(init.form).toString();
        }
        if (cookies.size > 0 && !init.noCookies && !('cookie' in headers)) {
          headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
        }
        // undici's request (not fetch): a test may name another Host, as a browser on another name would.
        const response = await request(new URL(path, url), {
          method: (init.method ?? (init.form ? 'POST' : 'GET')) as Dispatcher.HttpMethod,
          headers,
          body,
          dispatcher: agent,
        });
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const one of Array.isArray(value) ? value : [value ?? '']) responseHeaders.append(name, one);
        }
        for (const line of responseHeaders.getSetCookie()) {
          const [pair = ''] = line.split(';');
          const at = pair.indexOf('=');
          if (at > 0) cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
        }
        const text = await response.body.text();
        const location = responseHeaders.get('location');
        seen.push(text);
        if (location) seen.push(location);
        return { status: response.statusCode, headers: responseHeaders, text, location };
      },
    };
  };
  const phone = browser();
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
    cookies: phone.cookies,
    request: (path, init) => phone.request(path, init),
    browser,
    async enterCode(code, client = phone) {
      const confirm = await client.request(`${normalizeRoot(root)}link`, { form: { user_code: code } });
      assert.equal(confirm.status, 200, visibleText(confirm.text));
      const attempt = /name="attempt" value="([^"]+)"/.exec(confirm.text)?.[1];
      assert.ok(attempt, 'the confirmation page has a Continue form');
      const continued = await client.request(`${normalizeRoot(root)}link/continue`, { form: { attempt } });
      assert.equal(continued.status, 303, visibleText(continued.text));
      assert.ok(continued.location);
      return continued.location;
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
      await Promise.all(agents.map((agent) => agent.close()));
      await providerAgent.close();
    },
  };
}

/** What a pairing-page suite shares: one provider for the suite, a fresh clock and hub per test. */
export interface PairingSuite {
  provider: TestProvider;
  clock: ManualClock;
  hub: PairingHub;
  /** Replaces this test's hub with one started with other options (same provider and clock). */
  restart(options: Omit<Parameters<typeof startPairingHub>[0], 'provider' | 'clock'>): Promise<PairingHub>;
}

/** Mocha hooks for a pairing-page suite: read the fields inside tests (they change per test). */
export function usePairingSuite(providerOptions: TestProviderOptions = {}): PairingSuite {
  const suite = {
    async restart(options) {
      await suite.hub.close();
      suite.hub = await startPairingHub({ ...options, provider: suite.provider, clock: suite.clock });
      return suite.hub;
    },
  } as PairingSuite;
  before(async () => {
    suite.provider = await startTestProvider(providerOptions);
  });
  after(async () => {
    await suite.provider?.close();
    await cleanupTempDirs();
  });
  beforeEach(async () => {
    suite.provider.requests.length = 0;
    suite.clock = new ManualClock();
    suite.hub = await startPairingHub({ provider: suite.provider, clock: suite.clock });
  });
  afterEach(async () => {
    await suite.hub?.close();
  });
  return suite;
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
