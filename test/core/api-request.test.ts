import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import { Agent, fetch } from 'undici';
import { ApiRequester, type ApiRequesterOptions, type ApiResponse } from '../../src/core/api-request.js';
import type { GateState } from '../../src/core/api-gate.js';
import type { LinkError } from '../../src/core/errors.js';
import type { Link } from '../../src/core/link.js';
import { RecordingApi } from '../helpers/api-server.js';
import { cleanupTempDirs, makeLink } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { until } from '../helpers/until.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';

/**
 * The request node's engine against a real authorization server (oidc-provider, whose userinfo is
 * the API) and a local API server that records every Authorization header it is sent.
 */
describe('core: calling the API with a linked account (real provider)', function () {
  this.timeout(60_000);
  let provider: TestProvider;
  let api: RecordingApi;
  let elsewhere: RecordingApi;
  let clock: ManualClock;
  let link: Link;
  const requesters: ApiRequester[] = [];

  before(async () => {
    provider = await startTestProvider({ accessTokenTtl: 3600 });
  });
  after(async () => {
    await provider.close();
    await cleanupTempDirs();
  });
  beforeEach(async () => {
    clock = new ManualClock({ idleMs: 300 });
    api = await RecordingApi.start({ forwardTo: provider.issuer, now: () => clock.now() });
    elsewhere = await RecordingApi.start({ now: () => clock.now() });
    elsewhere.script = () => ({ status: 200, body: 'landed' });
    ({ link } = await makeLink({ settings: { provider: 'oidc', issuer: provider.issuer, clientId: provider.clientId }, clock }));
    await link.load();
    const { pending, finished } = await link.start();
    await provider.approveDevice(pending.user_code!);
    await clock.advance(5_000);
    assert.equal((await finished).state, 'linked');
  });
  afterEach(async () => {
    for (const requester of requesters.splice(0)) requester.close();
    await link.close();
    await api.close();
    await elsewhere.close();
  });

  function requester(options: Partial<ApiRequesterOptions> = {}): ApiRequester {
    const made = new ApiRequester({ link, clock, allowedHosts: api.host, ...options });
    requesters.push(made);
    return made;
  }

  const get = (r: ApiRequester, url: string): Promise<ApiResponse> => r.send({ method: 'GET', url });
  const json = (response: ApiResponse): Record<string, unknown> => JSON.parse(response.body.toString('utf8'));
  const bearer = async (): Promise<string> => `Bearer ${await link.accessToken()}`;

  async function refused(promise: Promise<unknown>): Promise<LinkError> {
    try {
      await promise;
    } catch (err) {
      return err as LinkError;
    }
    assert.fail('expected the request to fail');
  }

  /** Revokes the link's current access token at the provider (its refresh token stays valid). */
  async function revokeAccessToken(): Promise<string> {
    const token = await link.accessToken();
    const response = await fetch(provider.endpoints.revocation, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: provider.clientId }).toString(),
    });
    assert.equal(response.status, 200);
    assert.equal(await provider.isTokenActive(token), false);
    return token;
  }

  it("resolves relative URLs against the issuer and sends the link's token to allowed hosts only", async () => {
    const r = requester();
    const own = await get(r, 'me');
    assert.equal(own.statusCode, 200);
    assert.equal(own.url, `${provider.issuer}/me`);
    assert.equal(json(own).sub, 'alice');

    const viaApi = await r.send({ method: 'GET', url: `${api.origin}/me`, headers: { Authorization: 'Bearer from-the-flow', 'X-Trace': '1' } });
    assert.equal(json(viaApi).sub, 'alice');
    assert.equal(api.calls.length, 1);
    assert.equal(api.calls[0]!.authorization, await bearer(), "a flow's Authorization header is replaced by the link's");
    assert.equal(api.calls[0]!.headers['x-trace'], '1');

    for (const url of [`${elsewhere.origin}/me`, 'https://evil.example/me', 'http://93.184.216.34/me', 'ftp://127.0.0.1/me', '//evil.example/me']) {
      const error = await refused(get(r, url));
      assert.equal(error.code, 'forbidden_host', url);
      assert.doesNotMatch(error.message, /Bearer|eyJ/);
    }
    assert.equal((await refused(get(r, `http://user:pw@${api.host}/me`))).code, 'bad_request');
    assert.equal(elsewhere.calls.length, 0, 'nothing reached a forbidden origin');
    assert.equal(api.calls.length, 1);
  });

  it('plain http to a bare name: the token goes only where every address it resolves to is at home, looked up each time', async () => {
    const addresses: Record<string, string[]> = { nas: ['127.0.0.1'], 'media.lan': ['127.0.0.1', '93.184.216.34'] };
    const asked: string[] = [];
    const lookup = async (name: string): Promise<string[]> => {
      asked.push(name);
      if (!addresses[name]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return addresses[name]!;
    };
    // The connection itself reaches the loopback API whatever the name (as the home router's DNS would send it).
    const dispatcher = new Agent({
      connect: {
        lookup: ((_name, options, callback) =>
          options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)) satisfies LookupFunction,
      },
    });
    const r = requester({ allowedHosts: `nas:${api.port}, media.lan:${api.port}, gone:${api.port}`, http: { lookup, dispatcher } });

    assert.equal((await get(r, `http://nas:${api.port}/me`)).statusCode, 200);
    assert.equal((await get(r, `http://nas:${api.port}/me`)).statusCode, 200);
    assert.deepEqual(asked, ['nas', 'nas'], 'looked up before each request');
    assert.equal(api.calls.length, 2);
    assert.equal(api.calls[1]!.authorization, await bearer());

    addresses.nas = ['93.184.216.34'];
    const moved = await refused(get(r, `http://nas:${api.port}/me`));
    assert.equal(moved.code, 'forbidden_host', 'a name that now resolves outside');
    assert.match(moved.message, /nas resolves to an address outside/);
    assert.equal((await refused(get(r, `http://media.lan:${api.port}/me`))).code, 'forbidden_host', 'one address outside is enough');
    assert.notEqual((await refused(get(r, `http://gone:${api.port}/me`))).code, 'forbidden_host', 'a name that does not resolve is a network error');
    assert.equal(api.calls.length, 2, 'nothing was sent to a name outside or unknown');

    // A redirect within the origin carries the token, so the name is looked up again before it.
    api.script = (call) => (call.path === '/hop' ? { status: 302, headers: { location: '/me' } } : undefined);
    let hops = 0;
    const movesOut = requester({
      allowedHosts: `nas:${api.port}`,
      http: { dispatcher, lookup: async () => (++hops === 1 ? ['127.0.0.1'] : ['93.184.216.34']) },
    });
    assert.equal((await refused(get(movesOut, `http://nas:${api.port}/hop`))).code, 'forbidden_host', 'moved outside between two hops');
    assert.equal(hops, 2);
    assert.deepEqual(api.calls.slice(2).map((call) => call.path), ['/hop'], 'the second hop was not sent');
    await dispatcher.close();
  });

  it('follows a redirect within the origin with the token, and to another origin without it', async () => {
    api.script = (call) =>
      call.path === '/away'
        ? { status: 302, headers: { location: `${elsewhere.origin}/landing` } }
        : call.path === '/around'
          ? { status: 303, headers: { location: '/me' } }
          : undefined;
    const r = requester();
    const away = await get(r, `${api.origin}/away`);
    assert.equal(away.statusCode, 200);
    assert.equal(away.body.toString(), 'landed');
    assert.equal(away.url, `${elsewhere.origin}/landing`);
    assert.deepEqual(
      elsewhere.calls.map((c) => c.authorization),
      [undefined],
      'the other origin got the request without the token',
    );

    const around = await r.send({ method: 'POST', url: `${api.origin}/around`, body: { keep: true } });
    assert.equal(json(around).sub, 'alice');
    const token = await bearer();
    assert.deepEqual(api.calls.slice(1).map((c) => [c.method, c.path, c.authorization === token]), [
      ['POST', '/around', true],
      ['GET', '/me', true],
    ]);
  });

  it('a 401 renews the token once for 50 concurrent requests (one token-endpoint call), and all succeed', async () => {
    const r = requester();
    const old = await revokeAccessToken();
    const before = provider.count('refresh_token');
    const answers = await Promise.all(Array.from({ length: 50 }, () => get(r, `${api.origin}/me`)));
    assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([200]));
    assert.equal(provider.count('refresh_token') - before, 1, 'one refresh for 50 refusals');
    const renewed = await link.accessToken();
    assert.notEqual(renewed, old);
    const sent = api.calls.map((c) => c.authorization);
    assert.equal(sent.filter((a) => a === `Bearer ${old}`).length, 50);
    assert.equal(sent.filter((a) => a === `Bearer ${renewed}`).length, 50);
    assert.equal(sent.length, 100);
  });

  it('a 401 after the renewal is `unauthorized`; a 401 for that token again does not refresh again', async () => {
    api.script = () => ({ status: 401, body: { error: 'nope' } });
    const r = requester();
    const before = provider.count('refresh_token');
    const first = await refused(get(r, `${api.origin}/private`));
    assert.equal(first.code, 'unauthorized');
    assert.equal(provider.count('refresh_token') - before, 1);
    assert.equal(api.calls.length, 2);
    assert.notEqual(api.calls[0]!.authorization, api.calls[1]!.authorization, 'retried with the renewed token');
    const again = await refused(get(r, `${api.origin}/private`));
    assert.equal(again.code, 'unauthorized');
    assert.equal(provider.count('refresh_token') - before, 1, 'no second refresh for the same refused token');
    assert.equal(api.calls.length, 3);
    assert.equal(link.snapshot().state, 'linked', 'the renewal showed the link itself works');
  });

  it('a 429 storm (Retry-After 1 s for 2 s, 200 requests): all succeed, at most one probe per period while refused', async () => {
    const stormStart = clock.now();
    const refusals: number[] = [];
    api.script = (call) => {
      if (call.at >= stormStart + 2_000) return undefined;
      refusals.push(call.at);
      return { status: 429, headers: { 'retry-after': '1' }, body: { error: { status: 429, message: 'API rate limit exceeded' } } };
    };
    const waits: GateState[] = [];
    const r = requester({ onWait: (state) => waits.push(state), queueLimit: 500 });
    const requests = [get(r, `${api.origin}/me`)];
    await until(() => r.waitState()?.state === 'holding', 'the first refusal');
    for (let batch = 0; batch < 20; batch++) {
      const size = batch === 19 ? 9 : 10;
      for (let i = 0; i < size; i++) requests.push(get(r, `${api.origin}/me`));
      await clock.advance(100);
    }
    const answers = await Promise.all(requests);
    assert.equal(answers.length, 200);
    assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([200]));
    assert.deepEqual(
      refusals.map((at) => at - stormStart),
      [0, 1_000],
      'one refused request at the start, then one probe per Retry-After period',
    );
    assert.equal(api.calls.length, 202);
    assert.ok(waits.some((w) => w.state === 'holding' && w.waiting >= 190), 'the queue held the storm');
    assert.deepEqual(r.waitState(), { state: 'open', until: 0, waiting: 0 });
  });

  it('a 503 with Retry-After waits the same way; without it, the answer is handed over', async () => {
    let unavailable = 1;
    api.script = (call) =>
      call.path === '/down' ? { status: 503 } : unavailable-- > 0 ? { status: 503, headers: { 'retry-after': '2' } } : undefined;
    const r = requester();
    const waiting = get(r, `${api.origin}/me`);
    await until(() => r.waitState()?.state === 'holding', 'the 503');
    assert.equal(r.waitState()!.until, clock.now() + 2_000);
    await clock.advance(2_000);
    assert.equal((await waiting).statusCode, 200);
    assert.equal((await get(r, `${api.origin}/down`)).statusCode, 503);
  });

  it('beyond the queue limit a request fails at once with rate_limited; the queue is shared by the app', async () => {
    let refuse = true;
    api.script = () => (refuse ? { status: 429, headers: { 'retry-after': '1' } } : undefined);
    const node1 = requester({ queueLimit: 3 });
    const node2 = requester({ queueLimit: 1 });
    const first = get(node1, `${api.origin}/me`);
    await until(() => node1.waitState()?.state === 'holding', 'the refusal');
    refuse = false;
    const queued = [1, 2].map(() => get(node1, `${api.origin}/me`));
    const over = await refused(get(node1, `${api.origin}/me`));
    assert.equal(over.code, 'rate_limited');
    assert.match(over.message, /3 requests of this node are already waiting/);
    const other = get(node2, `${api.origin}/me`);
    assert.equal((await refused(get(node2, `${api.origin}/me`))).code, 'rate_limited');
    assert.deepEqual(node2.waitState(), node1.waitState(), 'one queue per client id');
    assert.equal(node1.waitState()!.waiting, 4, 'the refused request (at the head) and two more of node 1, one of node 2');
    assert.equal(api.calls.length, 1);
    await clock.advance(1_000);
    const answers = await Promise.all([first, ...queued, other]);
    assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 200, 200]);
    assert.equal(api.calls.length, 5, 'the two requests over the limit were never sent');
  });

  it('QUOTA_EXCEEDED is quota_exceeded, at once for everyone until the wait is over', async () => {
    let exhausted = true;
    api.script = () =>
      exhausted
        ? { status: 429, headers: { 'retry-after': '30' }, body: { error: { status: 429, message: 'Quota exceeded', reason: 'QUOTA_EXCEEDED' } } }
        : undefined;
    const r = requester();
    const error = await refused(get(r, `${api.origin}/me`));
    assert.equal(error.code, 'quota_exceeded');
    assert.match(error.message, /fewer calls/);
    assert.equal((await refused(get(r, `${api.origin}/me`))).code, 'quota_exceeded');
    assert.equal(api.calls.length, 1);
    exhausted = false;
    await clock.advance(30_000);
    assert.equal((await get(r, `${api.origin}/me`)).statusCode, 200);
  });

  it('a Retry-After longer than requests are held fails them at once', async () => {
    api.script = () => ({ status: 429, headers: { 'retry-after': '3600' } });
    const r = requester();
    const error = await refused(get(r, `${api.origin}/me`));
    assert.equal(error.code, 'rate_limited');
    assert.match(error.message, /3600 s/);
    assert.equal((await refused(get(r, `${api.origin}/me`))).code, 'rate_limited');
    assert.equal(api.calls.length, 1);
  });

  it('sends a body as core http request does, and a closed requester fails its waiting requests', async () => {
    api.script = (call) => ({ status: 200, body: { got: call.body, type: call.headers['content-type'] ?? null } });
    const r = requester();
    const sent = async (body: unknown, headers?: Record<string, string>) =>
      json(await r.send({ method: 'PUT', url: `${api.origin}/echo`, body, headers }));
    assert.deepEqual(await sent({ context_uri: 'spotify:playlist:1' }), { got: '{"context_uri":"spotify:playlist:1"}', type: 'application/json' });
    assert.deepEqual(await sent('plain'), { got: 'plain', type: null });
    assert.deepEqual(await sent({ a: 1 }, { 'Content-Type': 'application/x-www-form-urlencoded' }), {
      got: 'a=1',
      type: 'application/x-www-form-urlencoded',
    });
    assert.equal(json(await r.send({ method: 'GET', url: `${api.origin}/echo`, body: { ignored: true } })).got, '');

    api.script = () => ({ status: 429, headers: { 'retry-after': '5' } });
    const waiting = get(r, `${api.origin}/echo`);
    await until(() => r.waitState()?.state === 'holding', 'the refusal');
    r.close();
    assert.equal((await refused(waiting)).code, 'closed');
  });
});
