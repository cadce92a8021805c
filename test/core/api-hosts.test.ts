import assert from 'node:assert/strict';
import { decodeBody } from '../../src/core/api-body.js';
import { parseAllowedHosts, tokenDestinations, tokenUrl } from '../../src/core/api-hosts.js';
import { createProviderFetch } from '../../src/core/http.js';
import { resolveProvider, type ProviderSettings } from '../../src/core/providers.js';
import { systemClock } from '../../src/core/clock.js';
import { LinkError } from '../../src/core/errors.js';
import { cleanupTempDirs, makeLink } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MockProvider, networkError, tokens } from '../helpers/mock-provider.js';

/** Where the token may go (per profile), allowed-host entries, response bodies, and the 401 renewal's rules. */
describe('core: API addresses, bodies and the 401 renewal', () => {
  async function destinations(settings: Omit<ProviderSettings, 'clientId'>, allowedHosts = '') {
    const provider = await resolveProvider({ clientId: 'client', ...settings }, createProviderFetch({}, systemClock));
    return tokenDestinations(provider, parseAllowedHosts(allowedHosts));
  }
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      return (err as LinkError).code;
    }
    return 'allowed';
  };

  it('reads allowed hosts, and names an entry that is not a host', () => {
    assert.deepEqual(parseAllowedHosts(' api.example.com, 127.0.0.1:8080 ,[::1]:3000 https://Hub.local/ '), [
      { hostname: 'api.example.com', port: '' },
      { hostname: '127.0.0.1', port: '8080' },
      { hostname: '[::1]', port: '3000' },
      { hostname: 'hub.local', port: '' },
    ]);
    assert.deepEqual(parseAllowedHosts(''), []);
    for (const bad of ['exa_mple.com', 'host:99999', 'a b:c']) {
      assert.throws(() => parseAllowedHosts(bad), (err: LinkError) => err.code === 'config' && /Allowed hosts/.test(err.message), bad);
    }
  });

  it('resolves relative URLs against each profile’s API base and sends the token only there, over https', async () => {
    const spotify = await destinations({ provider: 'spotify' }, '127.0.0.1:8080, api.example.com');
    assert.equal(tokenUrl('me/player/devices', spotify).href, 'https://api.spotify.com/v1/me/player/devices');
    assert.equal(code(() => tokenUrl('https://accounts.spotify.com/api/token', spotify)), 'allowed');
    assert.equal(code(() => tokenUrl('https://api.example.com/x', spotify)), 'allowed');
    assert.equal(code(() => tokenUrl('https://api.example.com:8443/x', spotify)), 'forbidden_host', 'another port');
    assert.equal(code(() => tokenUrl('http://api.spotify.com/v1/me', spotify)), 'forbidden_host', 'plain http');
    assert.equal(code(() => tokenUrl('http://127.0.0.1:8080/', spotify)), 'forbidden_host', 'plain http, even at home, for a preset');
    assert.equal(code(() => tokenUrl('https://api.spotify.com.evil.example/v1/me', spotify)), 'forbidden_host');
    assert.equal(code(() => tokenUrl('http://[', spotify)), 'bad_request');

    const bases = {
      github: 'https://api.github.com/user',
      microsoft: 'https://graph.microsoft.com/v1.0/me',
      google: 'https://www.googleapis.com/me',
    } as const;
    for (const [kind, expected] of Object.entries(bases)) {
      const d = await destinations({ provider: kind as 'github' });
      assert.equal(tokenUrl(kind === 'github' ? 'user' : 'me', d).href, expected, kind);
    }
    const github = await destinations({ provider: 'github' });
    assert.equal(code(() => tokenUrl('https://github.com/login/oauth/access_token', github)), 'allowed', "the provider's own endpoint");
    assert.equal(code(() => tokenUrl('https://gist.github.com/', github)), 'forbidden_host');

    const custom = await destinations(
      { provider: 'custom', tokenEndpoint: 'http://192.168.1.20:8080/oauth/token', userinfoEndpoint: 'https://id.example.net/me' },
      '192.168.1.30:9000, nas.local, nas',
    );
    assert.equal(tokenUrl('api/items', custom).href, 'http://192.168.1.20:8080/api/items', 'the issuer origin');
    assert.equal(code(() => tokenUrl('https://id.example.net/me', custom)), 'allowed', "the provider's own endpoint");
    assert.equal(code(() => tokenUrl('http://192.168.1.30:9000/', custom)), 'allowed', 'http at home for custom');
    assert.equal(code(() => tokenUrl('http://nas.local/', custom)), 'allowed');
    assert.equal(code(() => tokenUrl('http://nas/', custom)), 'allowed', 'a bare name passes by its text; its addresses are checked before sending');
    assert.equal(code(() => tokenUrl('http://id.example.net/me', custom)), 'forbidden_host', 'plain http off the home network');
    assert.equal(code(() => tokenUrl('http://192.168.1.31/', custom)), 'forbidden_host', 'not listed');
  });

  it('hands bodies over as core http request does (an empty JSON answer is null)', () => {
    const body = Buffer.from('{"a":1}');
    assert.deepEqual(decodeBody(body, 'obj'), { payload: { a: 1 }, parsed: true });
    assert.deepEqual(decodeBody(body, 'txt'), { payload: '{"a":1}', parsed: true });
    assert.equal(decodeBody(body, 'bin').payload, body);
    assert.deepEqual(decodeBody(Buffer.alloc(0), 'obj'), { payload: null, parsed: true });
    assert.deepEqual(decodeBody(Buffer.from('<html>'), 'obj'), { payload: '<html>', parsed: false });
  });

  describe('renewRejectedToken (scripted provider)', () => {
    let clock: ManualClock;
    let mock: MockProvider;
    afterEach(async () => {
      await mock.close();
    });
    after(cleanupTempDirs);

    /** A link whose store already holds access-0 (valid for an hour) and refresh-0. */
    async function linked() {
      clock = new ManualClock({ idleMs: 300 });
      mock = new MockProvider(clock);
      const { link, store } = await makeLink({ settings: mock.settings(), clock, http: { dispatcher: mock.dispatcher } });
      const now = clock.now();
      const tokenSet = { accessToken: 'access-0', tokenType: 'bearer', expiresAt: now + 3600_000, refreshToken: 'refresh-0', scope: null, obtainedAt: now, refreshExpiresAt: null };
      await store.write('node1', { tokens: tokenSet, account: null, problem: null });
      assert.equal((await link.load()).state, 'linked');
      return link;
    }

    it('refreshes at once for the current token, not for a replaced one, and not again while backing off', async () => {
      const link = await linked();
      mock.token(tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }));
      assert.equal(await link.renewRejectedToken('access-0'), 'access-1');
      assert.equal(await link.renewRejectedToken('access-0'), 'access-1', 'already replaced: no request');
      assert.equal(mock.tokenCalls('refresh_token').length, 1);

      mock.token(networkError());
      await assert.rejects(link.renewRejectedToken('access-1'), (err: LinkError) => err.code === 'network');
      await assert.rejects(link.renewRejectedToken('access-1'), (err: LinkError) => err.code === 'network');
      assert.equal(mock.tokenCalls('refresh_token').length, 2, 'the back-off holds the second one back');
      await link.close();
    });
  });
});

