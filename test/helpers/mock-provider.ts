import { errors, MockAgent, type Dispatcher } from 'undici';
import type { ProviderSettings } from '../../src/core/providers.js';

/**
 * A scripted OAuth provider on a fake https host, served by undici's MockAgent: every answer the
 * token endpoint gives is queued by the test (one interceptor per request, consumed in order), and
 * every request that reaches the agent, matched or not, is recorded with the engine clock's time.
 * Pass `dispatcher` as the Link's `http.dispatcher`.
 */

export interface MockReply {
  status?: number;
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  /** Sent as is (set `headers` yourself). */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Send a content-length header (MockAgent leaves it out unless asked). */
  contentLength?: boolean;
  /** Fail the request at the transport level instead of answering. */
  error?: Error;
}

export interface MockCall {
  path: string;
  method: string;
  /** clock.now() when the request was sent. */
  at: number;
  /** Form fields of the request body. */
  form: URLSearchParams;
}

export const MOCK_DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export class MockProvider {
  readonly agent = new MockAgent();
  readonly dispatcher: Dispatcher;
  readonly calls: MockCall[] = [];
  readonly paths = {
    token: '/oauth/token',
    device: '/oauth/device/code',
    userinfo: '/oauth/userinfo',
    revoke: '/oauth/revoke',
  };

  constructor(
    private readonly clock: { now(): number },
    readonly origin = 'https://auth.example.test',
  ) {
    this.agent.disableNetConnect();
    this.dispatcher = this.agent.compose((dispatch) => (opts, handler) => {
      const url = new URL(opts.path, opts.origin ?? this.origin);
      this.calls.push({
        path: url.pathname,
        method: opts.method,
        at: this.clock.now(),
        form: new URLSearchParams(typeof opts.body === 'string' ? opts.body : ''),
      });
      return dispatch(opts, handler);
    });
  }

  /** `custom` provider settings pointing at this host. */
  settings(overrides: Partial<ProviderSettings> = {}): ProviderSettings {
    return {
      provider: 'custom',
      clientId: 'mock-client',
      scope: 'profile offline_access',
      tokenEndpoint: this.origin + this.paths.token,
      deviceAuthorizationEndpoint: this.origin + this.paths.device,
      userinfoEndpoint: this.origin + this.paths.userinfo,
      revocationEndpoint: this.origin + this.paths.revoke,
      ...overrides,
    };
  }

  /** Queues `reply` for the next `times` requests to `path` on `origin`. */
  reply(path: string, method: string, reply: MockReply, times = 1, origin = this.origin): void {
    const interceptor = this.agent.get(origin).intercept({ path, method });
    if (reply.error) {
      interceptor.replyWithError(reply.error).times(times);
      return;
    }
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    let data: string | Buffer = reply.body ?? '';
    if (reply.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      data = JSON.stringify(reply.json);
    }
    if (reply.contentLength) headers['content-length'] = String(Buffer.byteLength(data));
    interceptor.reply(reply.status ?? 200, data, { headers }).times(times);
  }

  /** Queues token endpoint answers, one per request, in order. */
  token(...replies: MockReply[]): void {
    for (const r of replies) this.reply(this.paths.token, 'POST', r);
  }

  /** Queues one device authorization answer. */
  deviceAuthorization(fields: { interval?: number; expires_in?: number; device_code?: string; user_code?: string } = {}): void {
    this.reply(this.paths.device, 'POST', {
      json: {
        device_code: fields.device_code ?? 'mock-device-code-5b1d',
        user_code: fields.user_code ?? 'WDJB-MJHT',
        verification_uri: `${this.origin}/device`,
        verification_uri_complete: `${this.origin}/device?user_code=${fields.user_code ?? 'WDJB-MJHT'}`,
        expires_in: fields.expires_in ?? 600,
        ...(fields.interval === undefined ? {} : { interval: fields.interval }),
      },
    });
  }

  /** Answers every userinfo request with this account. */
  userinfo(sub = 'user-1', name = 'Mock User'): void {
    this.agent.get(this.origin).intercept({ path: this.paths.userinfo, method: 'GET' }).reply(200, { sub, name }, {
      headers: { 'content-type': 'application/json' },
    }).persist();
  }

  /** Requests to the token endpoint (polls and refreshes), in order. */
  tokenCalls(grantType?: string): MockCall[] {
    return this.calls.filter(
      (c) => c.path === this.paths.token && (grantType === undefined || c.form.get('grant_type') === grantType),
    );
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** A successful token response. */
export function tokens(fields: { access_token: string; refresh_token?: string; expires_in?: number; scope?: string }): MockReply {
  return { json: { token_type: 'Bearer', expires_in: 3600, ...fields } };
}

export function oauthError(error: string, status = 400, extra: Record<string, string> = {}): MockReply {
  return { status, json: { error, ...extra } };
}

export const pending = (): MockReply => oauthError('authorization_pending');
export const slowDown = (): MockReply => oauthError('slow_down');

/** A transport failure such as a dropped connection. */
export function networkError(code = 'ECONNRESET'): MockReply {
  return { error: Object.assign(new Error(`socket error ${code}`), { code }) };
}

/** undici's own "no response headers in time" error. */
export function timeoutError(): MockReply {
  return { error: new errors.HeadersTimeoutError() };
}
