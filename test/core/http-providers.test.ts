import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProviderFetch, parseRetryAfter } from '../../src/core/http.js';
import { resolveProvider } from '../../src/core/providers.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MockProvider } from '../helpers/mock-provider.js';
import { startTestProvider } from '../../demo/sign-in-server.js';

const MiB = 1024 * 1024;

/** The provider fetch (limits, errors) and provider resolution. */
describe('core: provider HTTP and settings', function () {
  let clock: ManualClock;
  let mock: MockProvider;
  beforeEach(() => {
    clock = new ManualClock({ start: Date.parse('2026-03-01T10:00:00Z') });
    mock = new MockProvider(clock);
  });
  afterEach(() => mock.close());

  const get = (path = '/x') => createProviderFetch({ dispatcher: mock.dispatcher }, clock)(mock.origin + path, { method: 'GET', headers: {} });

  it('refuses a 10 MiB body, whether or not it declares its length', async () => {
    mock.reply('/x', 'GET', { body: Buffer.alloc(10 * MiB, 0x61), contentLength: true });
    await assert.rejects(get(), { code: 'response_too_large' });
    mock.reply('/x', 'GET', { body: Buffer.alloc(10 * MiB, 0x61) });
    await assert.rejects(get(), { code: 'response_too_large', message: /1024 KiB/ });
    mock.reply('/x', 'GET', { body: Buffer.alloc(MiB, 0x61) });
    assert.equal((await (await get()).arrayBuffer()).byteLength, MiB, 'exactly 1 MiB is allowed');
  });

  it('maps 429/503 with Retry-After, other 5xx and transport failures to codes', async () => {
    mock.reply('/x', 'GET', { status: 429, headers: { 'retry-after': '17' } });
    await assert.rejects(get(), (err: { code: string; retryAfterMs: number; message: string }) => {
      assert.equal(err.code, 'rate_limited');
      assert.equal(err.retryAfterMs, 17_000);
      assert.match(err.message, /17 s/);
      return true;
    });
    mock.reply('/x', 'GET', { status: 503 });
    await assert.rejects(get(), { code: 'provider_unavailable', retryAfterMs: undefined });
    mock.reply('/x', 'GET', { status: 502, body: '<html>bad gateway</html>' });
    await assert.rejects(get(), (err: Error & { code: string }) => err.code === 'provider_unavailable' && !err.message.includes('<html'));
    mock.reply('/x', 'GET', { error: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) });
    await assert.rejects(get(), { code: 'network', message: /name not found/ });
    mock.reply('/x', 'GET', { status: 404, body: 'nope' });
    assert.equal((await get()).status, 404, '4xx bodies go to the OAuth layer');
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-03-01T10:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
    assert.equal(parseRetryAfter(new Date(now - 30_000).toUTCString(), now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  describe('with a real slow server on loopback', () => {
    let server: Server;
    let url: string;
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/stall') return; // never answers
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        if (req.url === '/trickle') return; // body never finishes
        res.end('1}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('times out on missing headers and on a stalled body', async () => {
      const fetchWithTimeout = createProviderFetch({ responseTimeoutMs: 150 }, clock);
      await assert.rejects(fetchWithTimeout(`${url}/stall`, { method: 'GET', headers: {} }), { code: 'timeout' });
      await assert.rejects(fetchWithTimeout(`${url}/trickle`, { method: 'GET', headers: {} }), { code: 'timeout' });
      assert.equal(await (await fetchWithTimeout(`${url}/ok`, { method: 'GET', headers: {} })).text(), '{"a":1}');
    });

    it('reports a refused connection as a network error', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const f = createProviderFetch({}, clock);
      await assert.rejects(f(`http://127.0.0.1:${port}/`, { method: 'GET', headers: {} }), { code: 'network', message: /refused/ });
    });
  });

  describe('resolveProvider', () => {
    const fetch = () => createProviderFetch({ dispatcher: mock.dispatcher }, clock);

    it('reads endpoints from a real issuer by discovery', async () => {
      const provider = await startTestProvider();
      try {
        const resolved = await resolveProvider({ provider: 'oidc', issuer: provider.issuer, clientId: provider.clientId }, createProviderFetch({}, clock));
        assert.equal(resolved.flow, 'device');
        assert.equal(resolved.canRevoke, true);
        assert.equal(resolved.scope, 'openid profile offline_access');
        assert.equal(resolved.config.serverMetadata().device_authorization_endpoint, provider.endpoints.deviceAuthorization);
        const paired = await resolveProvider(
          { provider: 'oidc', issuer: provider.issuer, clientId: provider.clientId, flow: 'pairing' },
          createProviderFetch({}, clock),
        );
        assert.equal(paired.flow, 'pairing');
      } finally {
        await provider.close();
      }
    });

    it('resolves a token-endpoint-only provider under flow auto, so saved links keep refreshing', async () => {
      // Nothing can start linking without an authorization or device endpoint, but a link made
      // elsewhere (or before the endpoint was removed) must still refresh and revoke.
      const resolved = await resolveProvider({ provider: 'custom', clientId: 'x', tokenEndpoint: 'https://a.test/t', flow: 'auto' }, fetch());
      assert.equal(resolved.flow, 'pairing');
      await assert.rejects(
        resolveProvider({ provider: 'custom', clientId: 'x', tokenEndpoint: 'https://a.test/t', flow: 'pairing' }, fetch()),
        { code: 'config', message: /authorization endpoint/ },
      );
    });

    it('explains bad settings with a config error naming the field', async () => {
      await assert.rejects(resolveProvider({ provider: 'custom', clientId: '' }, fetch()), { code: 'config', message: /client id/ });
      await assert.rejects(resolveProvider({ provider: 'custom', clientId: 'x', tokenEndpoint: 'nope' }, fetch()), {
        code: 'config',
        message: /token endpoint/,
      });
      await assert.rejects(
        resolveProvider({ provider: 'custom', clientId: 'x', tokenEndpoint: 'http://auth.example.com/token' }, fetch()),
        { code: 'config', message: /plain http to .*, which is not on the home network/ },
      );
      await assert.rejects(
        resolveProvider({ provider: 'custom', clientId: 'x', tokenEndpoint: 'https://a.test/t', flow: 'device' }, fetch()),
        { code: 'unsupported' },
      );
      await assert.rejects(
        resolveProvider({ provider: 'oidc', clientId: 'x', issuer: 'http://127.0.0.1:1/' }, createProviderFetch({}, clock)),
        { code: 'network' },
      );
      mock.reply('/.well-known/openid-configuration', 'GET', { status: 404, body: 'not found' });
      await assert.rejects(resolveProvider({ provider: 'oidc', clientId: 'x', issuer: mock.origin }, fetch()), {
        code: 'config',
        message: /issuer URL/,
      });
    });
  });
});
