import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { Agent, fetch } from 'undici';

/**
 * A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider 8) on a free loopback port,
 * for tests that must see what a provider really does: device flow, refresh-token rotation with
 * reuse detection, revocation, introspection, userinfo and authorization code + PKCE. `npm start`
 * runs it as its demo sign-in server, so it lives outside test/; it is not in the published package.
 *
 * The person's side (entering the code, signing in, consenting) is driven through the provider's
 * own HTML pages the way a browser would: forms, hidden inputs (xsrf), cookies and redirects.
 */

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface TestAccount {
  /** The `name` claim (userinfo). */
  name: string;
}

export interface TestProviderOptions {
  /** Access token lifetime in seconds (default 3600). */
  accessTokenTtl?: number;
  /** Device code lifetime in seconds (default 600). */
  deviceCodeTtl?: number;
  /** Refresh token lifetime in seconds (default 14 days). */
  refreshTokenTtl?: number;
  /**
   * State each issued refresh token's remaining lifetime in the token response, as GitHub
   * (`refresh_token_expires_in`) or Keycloak (`refresh_expires_in`) do; oidc-provider itself does not.
   */
  stateRefreshLifetime?: 'refresh_token_expires_in' | 'refresh_expires_in';
  /** Accounts by id (default `alice` → "Alice", `bob` → "Bob"). */
  accounts?: Record<string, TestAccount>;
  /** Redirect URIs registered for both clients (more can be added with `addRedirectUri`). */
  redirectUris?: string[];
  /** Accept any redirect URI (for pages whose address is only known later). */
  allowAnyRedirectUri?: boolean;
  /** Public client id (default `account-link-test`). */
  clientId?: string;
  /** The app's name, shown to the person on the provider's pages (default `account-link tests`). */
  clientName?: string;
  /** Scopes the provider knows besides `openid offline_access profile`. */
  extraScopes?: string[];
  /** Port on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** For people trying it by hand: any login name signs in, as an account named after it. */
  interactive?: boolean;
}

/** One call to the token endpoint, in arrival order. */
export interface TokenRequestRecord {
  grantType: string;
  clientId: string | undefined;
  status: number;
  /** The OAuth `error` of the response, when it failed. */
  error: string | undefined;
  /** The refresh token or device code the client presented (test-only: lets tests prove which one was used). */
  presented: string | undefined;
}

export interface InteractionOptions {
  /** The account that signs in (default the first account). */
  accountId?: string;
  /** Decline instead of approving. */
  deny?: boolean;
}

export interface TestProvider {
  issuer: string;
  port: number;
  /** The public client (token_endpoint_auth_method `none`). */
  clientId: string;
  /** A confidential client (client_secret_post / basic) with the same grants. */
  confidentialClient: { clientId: string; clientSecret: string };
  /** Endpoints, for `custom` provider settings. */
  endpoints: {
    authorization: string;
    token: string;
    deviceAuthorization: string;
    revocation: string;
    userinfo: string;
    introspection: string;
    deviceVerification: string;
  };
  /** Enters `userCode` on the verification page, signs in and approves (or aborts with `deny`). */
  approveDevice(userCode: string, options?: InteractionOptions): Promise<void>;
  /**
   * Opens an authorization URL, signs in and consents (or cancels with `deny`); resolves with the
   * URL the provider finally redirected to (the redirect URI with `code` & `state`, or `error`).
   */
  authorize(authorizationUrl: string, options?: InteractionOptions): Promise<string>;
  /** Asks the introspection endpoint whether a token (access or refresh) is still alive. */
  isTokenActive(token: string): Promise<boolean>;
  /** Token endpoint calls, in order. */
  requests: TokenRequestRecord[];
  /** Tokens presented to the revocation endpoint, in order (test-only: lets tests prove which were revoked). */
  revoked: string[];
  /** How many token endpoint calls had this grant type (`refresh_token`, DEVICE_CODE_GRANT, …). */
  count(grantType: string): number;
  /** Allows another redirect URI from now on. */
  addRedirectUri(uri: string): void;
  close(): Promise<void>;
}

const DEFAULT_ACCOUNTS: Record<string, TestAccount> = {
  alice: { name: 'Alice' },
  bob: { name: 'Bob' },
};

/** Starts a provider on 127.0.0.1 with a free port. Call `close()` in an `after` hook. */
export async function startTestProvider(options: TestProviderOptions = {}): Promise<TestProvider> {
  dropProductionAdvice();
  const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
  const clientId = options.clientId ?? 'account-link-test';
  const confidentialClient = { clientId: 'account-link-confidential', clientSecret: 'confidential-secret-0f9e8d7c6b5a' };
  const redirectUris = options.redirectUris?.length ? options.redirectUris : ['http://127.0.0.1/callback'];
  const extraRedirects = new Set<string>();

  // The issuer must contain the port, so bind first and hand the requests over once the provider exists.
  let handler: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const grantTypes = [DEVICE_CODE_GRANT, 'refresh_token', 'authorization_code'];
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_name: options.clientName ?? 'account-link tests',
        token_endpoint_auth_method: 'none',
        grant_types: grantTypes,
        response_types: ['code'],
        redirect_uris: redirectUris,
      },
      {
        client_id: confidentialClient.clientId,
        client_secret: confidentialClient.clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: grantTypes,
        response_types: ['code'],
        redirect_uris: redirectUris,
      },
    ],
    clientDefaults: { id_token_signed_response_alg: 'RS256' },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      userinfo: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'profile', ...(options.extraScopes ?? [])],
    claims: { openid: ['sub'], profile: ['name'] },
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts[id] ?? (options.interactive && id ? { name: id.charAt(0).toUpperCase() + id.slice(1) } : undefined);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, name: account.name }) };
    },
    async issueRefreshToken(_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) {
      return client.grantTypeAllowed('refresh_token');
    },
    // Every refresh rotates; presenting a consumed refresh token revokes the whole grant.
    rotateRefreshToken: true,
    expiresWithSession: async () => false,
    pkce: { methods: ['S256'], required: () => true },
    cookies: { keys: ['account-link-test-cookie-key'] },
    ttl: {
      AccessToken: options.accessTokenTtl ?? 3600,
      DeviceCode: options.deviceCodeTtl ?? 600,
      RefreshToken: options.refreshTokenTtl ?? 14 * 24 * 3600,
      AuthorizationCode: 60,
      Grant: 365 * 24 * 3600,
      Session: 24 * 3600,
      Interaction: 3600,
      IdToken: 3600,
    },
    renderError(ctx: { type: string; body: unknown }, out: Record<string, string>) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><body><h1>oops</h1><pre id="error">${escapeHtml(JSON.stringify(out))}</pre></body></html>`;
    },
  });

  // Static clients cannot be changed after start; widen the check instead.
  const originalRedirectCheck = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value: string): boolean {
    if (options.allowAnyRedirectUri || extraRedirects.has(value)) return true;
    return originalRedirectCheck.call(this, value);
  };

  const requests: TokenRequestRecord[] = [];
  const revoked: string[] = [];
  const statedField = options.stateRefreshLifetime;
  if (statedField) {
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as Record<string, unknown> | undefined;
      if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200 || typeof body?.refresh_token !== 'string') return;
      // The lifetime of the token the provider just issued, read back from its own record.
      const issued = await provider.RefreshToken.find(body.refresh_token);
      if (issued?.exp) body[statedField] = issued.exp - Math.floor(Date.now() / 1000);
    });
  }
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/token/revocation' && typeof ctx.oidc?.params?.token === 'string') {
      revoked.push(ctx.oidc.params.token);
    }
    if (ctx.method === 'POST' && ctx.path === '/token') {
      const params = ctx.oidc?.params ?? {};
      const body = ctx.body as { error?: unknown } | undefined;
      requests.push({
        grantType: String(params.grant_type ?? ''),
        clientId: typeof params.client_id === 'string' ? params.client_id : undefined,
        status: ctx.status,
        error: body && typeof body.error === 'string' ? body.error : undefined,
        presented: [params.refresh_token, params.device_code, params.code].find((v): v is string => typeof v === 'string'),
      });
    }
  });
  handler = provider.callback();

  const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  const endpoints = {
    authorization: `${issuer}/auth`,
    token: `${issuer}/token`,
    deviceAuthorization: `${issuer}/device/auth`,
    revocation: `${issuer}/token/revocation`,
    userinfo: `${issuer}/me`,
    introspection: `${issuer}/token/introspection`,
    deviceVerification: `${issuer}/device`,
  };
  const defaultAccount = Object.keys(accounts)[0] ?? 'alice';

  return {
    issuer,
    port,
    clientId,
    confidentialClient,
    endpoints,
    requests,
    revoked,
    count: (grantType) => requests.filter((r) => r.grantType === grantType).length,
    addRedirectUri: (uri) => void extraRedirects.add(uri),

    async approveDevice(userCode, interaction = {}) {
      const browser = new Browser(issuer, dispatcher);
      let page = await browser.open(endpoints.deviceVerification);
      let form = page.form('op.deviceInputForm');
      if (!form) throw new Error(`device page has no code form:\n${page.text}`);
      page = await browser.submit(form, { user_code: userCode });
      form = page.form('op.deviceConfirmForm');
      if (!form) throw new Error(`device code was not accepted:\n${page.text}`);
      if (interaction.deny) {
        delete form.fields.confirm;
        page = await browser.submit(form, { abort: 'yes' });
        return;
      }
      page = await browser.submit(form, {});
      page = await signInAndConsent(browser, page, interaction.accountId ?? defaultAccount, false);
      if (page.redirectedOut) throw new Error(`unexpected redirect to ${page.url}`);
      if (!/Sign-in Success/i.test(page.text)) throw new Error(`device approval did not succeed:\n${page.text}`);
    },

    async authorize(authorizationUrl, interaction = {}) {
      const browser = new Browser(issuer, dispatcher);
      let page = await browser.open(authorizationUrl);
      page = await signInAndConsent(browser, page, interaction.accountId ?? defaultAccount, Boolean(interaction.deny));
      if (!page.redirectedOut) throw new Error(`authorization did not redirect back:\n${page.text}`);
      return page.url;
    },

    async isTokenActive(token) {
      const response = await fetch(endpoints.introspection, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token,
          client_id: confidentialClient.clientId,
          client_secret: confidentialClient.clientSecret,
        }).toString(),
      });
      const body = (await response.json()) as { active?: boolean };
      if (response.status !== 200) throw new Error(`introspection failed: HTTP ${response.status}`);
      return body.active === true;
    },

    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dispatcher.close();
    },
  };
}

let adviceDropped = false;

/**
 * oidc-provider prints advice for production set-ups on the console ("WARNING: a quick start
 * development-only in-memory adapter is used", "NOTICE: default … function called"). It is true
 * and beside the point for a demo or a test, and it buried `npm start`'s own lines: drop those lines
 * (and only those) from console.warn and console.info.
 */
function dropProductionAdvice(): void {
  if (adviceDropped) return;
  adviceDropped = true;
  for (const level of ['warn', 'info'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && /^(\x1b\[[0-9;]*m)?oidc-provider (WARNING|NOTICE):/.test(args[0])) return;
      original(...args);
    };
  }
}

/** Walks the dev-interaction login and consent prompts until the provider leaves them. */
async function signInAndConsent(browser: Browser, start: Page, accountId: string, deny: boolean): Promise<Page> {
  let page = start;
  for (let step = 0; step < 6 && !page.redirectedOut; step++) {
    const promptForm = page.forms().find((f) => f.fields.prompt === 'login' || f.fields.prompt === 'consent');
    if (!promptForm) return page;
    if (deny) {
      const abort = page.link(/\/abort$/);
      if (!abort) throw new Error(`no cancel link on the ${promptForm.fields.prompt} page`);
      page = await browser.open(abort);
      continue;
    }
    const extra: Record<string, string> = promptForm.fields.prompt === 'login' ? { login: accountId, password: 'any' } : {};
    page = await browser.submit(promptForm, extra);
  }
  return page;
}

interface Form {
  id: string | undefined;
  action: string;
  method: string;
  fields: Record<string, string>;
}

interface Page {
  url: string;
  status: number;
  text: string;
  /** True when the last redirect left the provider (to a client's redirect URI). */
  redirectedOut: boolean;
  forms(): Form[];
  form(id: string): Form | undefined;
  link(pattern: RegExp): string | undefined;
}

/** Just enough of a browser for the provider's pages: cookies, redirects, HTML forms. */
class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(
    private readonly issuer: string,
    private readonly dispatcher: Agent,
  ) {}

  open(url: string): Promise<Page> {
    return this.request(url, 'GET');
  }

  submit(form: Form, extra: Record<string, string>): Promise<Page> {
    const fields = { ...form.fields, ...extra };
    const body = new URLSearchParams(fields).toString();
    if (form.method === 'get') {
      const target = new URL(form.action);
      target.search = body;
      return this.request(target.href, 'GET');
    }
    return this.request(form.action, 'POST', body);
  }

  private async request(url: string, method: string, body?: string): Promise<Page> {
    let current = url;
    let currentMethod = method;
    let currentBody = body;
    for (let hop = 0; hop < 20; hop++) {
      if (new URL(current).origin !== new URL(this.issuer).origin) {
        return page(current, 0, '', true);
      }
      const headers: Record<string, string> = { accept: 'text/html' };
      if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      if (currentBody !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(current, {
        method: currentMethod,
        headers,
        body: currentBody,
        redirect: 'manual',
        dispatcher: this.dispatcher,
      });
      this.remember(response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        current = new URL(location, current).href;
        if (response.status !== 307 && response.status !== 308) {
          currentMethod = 'GET';
          currentBody = undefined;
        }
        continue;
      }
      const text = await response.text();
      const autoPost = parseForms(text, current).find((f) => /document\.forms\[0\]\.submit|onload/i.test(text) && f.method === 'post');
      if (autoPost && /<body[^>]*onload/i.test(text)) {
        // form_post response mode: a script would submit it at once.
        current = autoPost.action;
        currentMethod = 'POST';
        currentBody = new URLSearchParams(autoPost.fields).toString();
        continue;
      }
      return page(current, response.status, text, false);
    }
    throw new Error(`too many redirects from ${url}`);
  }

  private remember(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v] = a.split('=');
        if (k.trim().toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
        if (k.trim().toLowerCase() === 'max-age') return Number(v) <= 0;
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

function page(url: string, status: number, text: string, redirectedOut: boolean): Page {
  return {
    url,
    status,
    text,
    redirectedOut,
    forms: () => parseForms(text, url),
    form: (id) => parseForms(text, url).find((f) => f.id === id),
    link: (pattern) => {
      for (const match of text.matchAll(/<a\b[^>]*\bhref="([^"]*)"/gi)) {
        const href = new URL(unescapeHtml(match[1]), url).href;
        if (pattern.test(new URL(href).pathname)) return href;
      }
      return undefined;
    },
  };
}

function parseForms(html: string, base: string): Form[] {
  const forms: Form[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1]);
    const fields: Record<string, string> = {};
    for (const input of match[2].matchAll(/<input\b([^>]*?)\/?>/gi)) {
      const a = parseAttributes(input[1]);
      if (a.name && a.type !== 'submit') fields[a.name] = a.value ?? '';
    }
    forms.push({
      id: attributes.id,
      action: new URL(attributes.action ?? base, base).href,
      method: (attributes.method ?? 'get').toLowerCase(),
      fields,
    });
  }
  return forms;
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const m of source.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attributes[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attributes;
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
