import assert from 'node:assert/strict';
import { MockAgent } from 'undici';
import { LinkError } from '../../src/core/errors.js';
import { describeProviderError } from '../../src/core/pairing-attempt.js';
import { resolveProvider } from '../../src/core/providers.js';
import { createProviderFetch } from '../../src/core/http.js';
import { cleanupTempDirs } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { startPairingHub, visibleText, type PairingHub } from './fixtures.js';

const LOOPBACK = 'http://127.0.0.1:1880/link/callback';
const JSON_HEADERS = { headers: { 'content-type': 'application/json' } };

/** Spotify through the pairing page, with Spotify's answers scripted (MockAgent): its redirect rules and errors. */
describe('web: Spotify through the pairing page', function () {
  let provider: TestProvider;
  let clock: ManualClock;
  let hub: PairingHub;
  let spotify: MockAgent;

  before(async () => {
    // Only the fixture's defaults need a provider; Spotify itself is scripted.
    provider = await startTestProvider();
  });
  after(async () => {
    await provider.close();
    await cleanupTempDirs();
  });
  beforeEach(async () => {
    clock = new ManualClock();
    hub = await startPairingHub({ provider, clock });
    spotify = new MockAgent();
    spotify.disableNetConnect();
  });
  afterEach(async () => {
    await hub.close();
    await spotify.close();
  });

  async function spotifyLink(redirectUri = LOOPBACK) {
    return hub.newLink({ redirectUri, settings: { provider: 'spotify', clientId: 'spotify-client-id', issuer: undefined, flow: 'auto' }, dispatcher: spotify });
  }

  /** Starts, enters the code, and returns the authorize URL and a callback path with a made-up code. */
  async function throughAuthorize(link: Awaited<ReturnType<typeof spotifyLink>>['link']) {
    const attempt = await link.start();
    const authorizeUrl = new URL(await hub.enterCode(attempt.pending.user_code!));
    const callback = `/link/callback?code=spotify-auth-code&state=${encodeURIComponent(authorizeUrl.searchParams.get('state')!)}`;
    return { ...attempt, authorizeUrl, callback };
  }

  it('sends the person to accounts.spotify.com with PKCE and the loopback redirect URI, and links as the /v1/me name', async () => {
    spotify
      .get('https://accounts.spotify.com')
      .intercept({ path: '/api/token', method: 'POST' })
      .reply(200, { access_token: 'AT-spotify-0001', token_type: 'Bearer', expires_in: 3600, refresh_token: 'RT-spotify-0001', scope: 'user-read-playback-state' }, JSON_HEADERS);
    spotify
      .get('https://api.spotify.com')
      .intercept({ path: '/v1/me', method: 'GET' })
      .reply(200, { id: 'alice-id', display_name: 'Alice Spotify' }, JSON_HEADERS);
    const { link, rec } = await spotifyLink();
    const { authorizeUrl, callback, finished } = await throughAuthorize(link);
    assert.equal(authorizeUrl.origin + authorizeUrl.pathname, 'https://accounts.spotify.com/authorize');
    assert.equal(authorizeUrl.searchParams.get('client_id'), 'spotify-client-id');
    assert.equal(authorizeUrl.searchParams.get('redirect_uri'), LOOPBACK);
    assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorizeUrl.searchParams.get('scope')!, /user-read-playback-state/);
    const page = await hub.request(callback);
    assert.equal(page.status, 200);
    assert.match(visibleText(page.text), /^Linked as Alice Spotify Spotify is now linked/);
    const done = await finished;
    assert.equal(done.state, 'linked');
    assert.ok(done.refresh_expires_at, 'Spotify links carry their 6-month horizon');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'linked']);
    for (const text of [...hub.seen, ...hub.logs, ...rec.logs.map((l) => l.message)]) {
      assert.ok(!/AT-spotify|RT-spotify|spotify-auth-code/.test(text), text);
    }
  });

  it('refuses to start with an http redirect URI that is not on 127.0.0.1, saying what to set instead', async () => {
    for (const redirectUri of ['http://192.168.1.20:1880/link/callback', 'http://localhost:1880/link/callback']) {
      const { link } = await spotifyLink(redirectUri);
      await assert.rejects(link.start(), (err: LinkError) => {
        assert.equal(err.code, 'insecure_redirect_uri');
        assert.match(err.message, /http:\/\/127\.0\.0\.1:1880\/link\/callback/);
        return true;
      });
    }
    assert.equal(hub.coordinator.pendingCount, 0);
  });

  it('turns "INVALID_CLIENT: Invalid redirect URI" from the token endpoint into a plain, localized message', async () => {
    spotify
      .get('https://accounts.spotify.com')
      .intercept({ path: '/api/token', method: 'POST' })
      .reply(400, { error: 'invalid_client', error_description: 'INVALID_CLIENT: Invalid redirect URI' }, JSON_HEADERS);
    const { link } = await spotifyLink();
    const { callback, finished } = await throughAuthorize(link);
    const page = await hub.request(callback, { headers: { 'accept-language': 'de' } });
    assert.equal(page.status, 502);
    assert.match(visibleText(page.text), /Spotify kennt die Weiterleitungs-URI http:\/\/127\.0\.0\.1:1880\/link\/callback nicht/);
    // Fixed in the dashboard meanwhile? The attempt stays usable: the hub says what went wrong and waits.
    const waiting = link.snapshot();
    assert.equal(waiting.state, 'pending');
    assert.equal(waiting.waiting_for, 'sign_in');
    assert.equal(waiting.error?.code, 'invalid_redirect_uri');
    assert.match(visibleText((await hub.request('/link')).text), /The last try did not work: Spotify does not know the redirect URI/);
    await clock.advance(10 * 60_000);
    const done = await finished;
    assert.equal(done.error?.code, 'invalid_redirect_uri');
    assert.match(done.error!.message, /Redirect URIs/);
  });

  it('turns "Insecure redirect URI" into insecure_redirect_uri with the loopback address to use', async () => {
    spotify
      .get('https://accounts.spotify.com')
      .intercept({ path: '/api/token', method: 'POST' })
      .reply(400, { error: 'invalid_request', error_description: 'Insecure redirect URI' }, JSON_HEADERS);
    const { link } = await spotifyLink('https://hub.example/link/callback');
    const { callback, finished } = await throughAuthorize(link);
    const page = await hub.request(callback);
    assert.match(visibleText(page.text), /refuses the redirect URI https:\/\/hub\.example\/link\/callback/);
    await clock.advance(10 * 60_000);
    assert.equal((await finished).error?.code, 'insecure_redirect_uri');
  });

  it('reports the 403 "User not registered" from /v1/me with what to do', async () => {
    spotify
      .get('https://accounts.spotify.com')
      .intercept({ path: '/api/token', method: 'POST' })
      .reply(200, { access_token: 'AT-spotify-0002', token_type: 'Bearer', expires_in: 3600, refresh_token: 'RT-spotify-0002' }, JSON_HEADERS);
    spotify
      .get('https://api.spotify.com')
      .intercept({ path: '/v1/me', method: 'GET' })
      .reply(403, { error: { status: 403, message: 'Check settings on developer.spotify.com/dashboard, the user may not be registered.' } }, JSON_HEADERS);
    const { link, rec } = await spotifyLink();
    const { callback, finished } = await throughAuthorize(link);
    const page = await hub.request(callback);
    assert.equal(page.status, 403);
    assert.match(visibleText(page.text), /not on the app’s user list.*User Management/);
    const done = await finished;
    assert.equal(done.state, 'unlinked');
    assert.equal(done.error?.code, 'user_not_registered');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'error']);
  });

  it('maps redirect errors from any wording, and leaves other errors to the engine', async () => {
    const settings = { provider: 'spotify' as const, clientId: 'x' };
    const spotifyProvider = await resolveProvider(settings, createProviderFetch({ dispatcher: spotify }, clock));
    assert.equal(describeProviderError(spotifyProvider, 'invalid_grant', 'Invalid redirect URI', LOOPBACK, '/').code, 'invalid_redirect_uri');
    assert.equal(describeProviderError(spotifyProvider, 'INVALID_CLIENT', 'Insecure redirect URI', LOOPBACK, '/').code, 'insecure_redirect_uri');
    assert.equal(describeProviderError(spotifyProvider, 'invalid_grant', 'Invalid authorization code', LOOPBACK, '/').code, 'invalid_grant');
    assert.equal(describeProviderError(spotifyProvider, 'access_denied', undefined, LOOPBACK, '/').code, 'access_denied');
  });
});
