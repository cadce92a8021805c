import assert from 'node:assert/strict';
import * as oauth from 'openid-client';
import { findLinkError } from '../../src/core/errors.js';
import { createProviderFetch } from '../../src/core/http.js';
import { resolveProvider } from '../../src/core/providers.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MockProvider } from '../helpers/mock-provider.js';

const PUBLIC_HTTP = 'http://203.0.113.7';
const HOME_HTTP = 'http://192.168.1.5:8080';

/** Plain http only for an endpoint that is itself http on the home network (issue 10). */
describe('core: plain http to providers', () => {
  let clock: ManualClock;
  let mock: MockProvider;
  /** Names the resolver was asked for, in order. */
  let looked: string[];
  const addresses: Record<string, string[]> = { nas: ['192.168.1.5'], hub: ['8.8.8.8'], split: ['192.168.1.5', '203.0.113.7'] };
  const lookup = async (name: string): Promise<string[]> => {
    looked.push(name);
    if (!addresses[name]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return addresses[name];
  };
  const fetch = () => createProviderFetch({ dispatcher: mock.dispatcher, lookup }, clock);
  const paths = () => mock.calls.map((call) => call.path);

  beforeEach(() => {
    clock = new ManualClock({ start: Date.parse('2026-03-01T10:00:00Z') });
    mock = new MockProvider(clock);
    looked = [];
  });
  afterEach(() => mock.close());

  it('sends plain http only to a home-network host, a bare name only when all its addresses are home', async () => {
    for (const origin of ['http://nas', 'http://192.168.1.5']) mock.reply('/ok', 'GET', { json: { ok: true } }, 1, origin);
    for (const origin of [PUBLIC_HTTP, 'http://169.254.169.254', 'http://hub', 'http://split', 'http://[fe80::1]']) {
      mock.reply('/leak', 'GET', { json: { leaked: true } }, 1, origin);
    }
    const get = (url: string) => fetch()(url, { method: 'GET', headers: {} });

    assert.equal((await get('http://nas/ok')).status, 200);
    assert.equal((await get('http://192.168.1.5/ok')).status, 200);
    for (const url of [`${PUBLIC_HTTP}/leak`, 'http://169.254.169.254/leak', 'http://hub/leak', 'http://split/leak', 'http://[fe80::1]/leak']) {
      await assert.rejects(get(url), { code: 'config', message: /plain http request to .* was refused: it is not on the home network/ }, url);
    }
    await assert.rejects(get('http://gone/leak'), { code: 'network', message: /name not found/ });
    assert.deepEqual(paths(), ['/ok', '/ok'], 'nothing was sent to a refused host');
    assert.deepEqual(looked, ['nas', 'hub', 'split', 'gone'], 'only bare names are looked up, once per request');
  });

  it('refuses plain http endpoints on link-local and cloud-metadata addresses', async () => {
    for (const tokenEndpoint of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/token', 'http://metadata.google.internal/token']) {
      await assert.rejects(resolveProvider({ provider: 'custom', clientId: 'x', tokenEndpoint }, fetch()), {
        code: 'config',
        message: /plain http to .*, which is not on the home network/,
      });
    }
  });

  it('a bare-name endpoint resolving to a public address gets no request', async () => {
    const provider = await resolveProvider({ provider: 'custom', clientId: 'x', tokenEndpoint: 'http://hub/token', flow: 'auto' }, fetch());
    mock.reply('/token', 'POST', { json: { access_token: 'a', token_type: 'Bearer' } }, 1, 'http://hub');
    const refresh = oauth.refreshTokenGrant(provider.config, 'refresh-token');
    await assert.rejects(refresh, (err: unknown) => findLinkError(err)?.code === 'config');
    assert.deepEqual(paths(), []);
  });

  /** Serves a discovery document for `issuer` whose endpoints all live there, plus `extra` fields. */
  function discovery(issuer: string, extra: Record<string, string>): void {
    mock.reply('/.well-known/openid-configuration', 'GET', {
      json: {
        issuer,
        token_endpoint: `${issuer}/token`,
        authorization_endpoint: `${issuer}/authorize`,
        userinfo_endpoint: `${issuer}/userinfo`,
        ...extra,
      },
    }, 1, issuer);
  }

  /** What openid-client does with an http address the discovery document did not make an endpoint. */
  async function requestTo(provider: { config: oauth.Configuration }, url: string) {
    mock.reply(new URL(url).pathname, 'GET', { json: { id: 'someone' } }, 1, new URL(url).origin);
    return oauth.fetchProtectedResource(provider.config, 'access-token', new URL(url), 'GET');
  }

  it('an http value for an unrelated field of an https provider turns http on for nothing', async () => {
    discovery(mock.origin, { service_documentation: 'http://docs.example.com/', jwks_uri: `${PUBLIC_HTTP}/jwks` });
    const provider = await resolveProvider({ provider: 'oidc', clientId: 'x', issuer: mock.origin }, fetch());
    await assert.rejects(requestTo(provider, `${PUBLIC_HTTP}/v1/me`));
    await assert.rejects(requestTo(provider, `${HOME_HTTP}/v1/me`), 'not even to the home network: no endpoint is http');
    assert.deepEqual(paths(), ['/.well-known/openid-configuration'], 'the access token went nowhere over http');
  });

  it('an http endpoint on the home network opens http for that network only, not for a public address', async () => {
    discovery(HOME_HTTP, { jwks_uri: `${PUBLIC_HTTP}/jwks` });
    const provider = await resolveProvider({ provider: 'oidc', clientId: 'x', issuer: HOME_HTTP }, fetch());
    assert.equal(provider.config.serverMetadata().token_endpoint, `${HOME_HTTP}/token`);
    await assert.rejects(requestTo(provider, `${PUBLIC_HTTP}/v1/me`), (err: unknown) => findLinkError(err)?.code === 'config');
    assert.equal((await requestTo(provider, `${HOME_HTTP}/v1/me`)).status, 200);
    assert.deepEqual(paths(), ['/.well-known/openid-configuration', '/v1/me']);
    assert.equal(mock.calls[1].path, '/v1/me');
  });
});
