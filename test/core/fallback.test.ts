import assert from 'node:assert/strict';
import { PairingCoordinator } from '../../src/core/pairing.js';
import type { ProviderSettings } from '../../src/core/providers.js';
import { cleanupTempDirs, makeLink } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MOCK_DEVICE_CODE_GRANT, MockProvider, oauthError, type MockReply } from '../helpers/mock-provider.js';

/** Enters `code` on the pairing page as a phone would and presses Continue: where the page sends it. */
async function continueToProvider(coordinator: PairingCoordinator, code: string): Promise<URL> {
  const phone = { address: '192.168.1.30', browserKey: null, origin: null };
  const entered = await coordinator.submitCode(code, phone);
  assert.equal(entered.kind, 'confirm');
  const { confirmation, browserKey } = entered as Extract<typeof entered, { kind: 'confirm' }>;
  const authorized = await coordinator.authorize(confirmation.attempt, { ...phone, browserKey });
  assert.equal(authorized.kind, 'redirect');
  return new URL((authorized as { authorizationUrl: string }).authorizationUrl);
}

const HUB = 'http://127.0.0.1:1880';
const CONDITIONAL_ACCESS = {
  error: 'invalid_grant',
  error_description: 'AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
  error_codes: [53003],
};

/**
 * `flow: auto` when the provider refuses its device flow to the app: the answers are scripted with
 * MockAgent (a real server cannot be made to refuse in each of these shapes); the pairing page is
 * the real PairingCoordinator.
 */
describe('core: device flow refused, pairing page instead', function () {
  let clock: ManualClock;
  let mock: MockProvider;
  let coordinator: PairingCoordinator;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(() => {
    clock = new ManualClock({ start: Date.parse('2026-03-01T10:00:00Z') });
    mock = new MockProvider(clock);
    coordinator = new PairingCoordinator({ clock });
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    await mock.close();
  });
  after(cleanupTempDirs);

  /** A link on the mock provider (with an authorization endpoint unless overridden) that may use the pairing page. */
  async function newLink(overrides: Partial<ProviderSettings> = {}, pairing = true, on = mock) {
    const settings = { ...mock.settings({ authorizationEndpoint: `${mock.origin}/oauth/authorize` }), ...overrides };
    const made = await makeLink({
      settings,
      clock,
      http: { dispatcher: on.dispatcher },
      pairing: pairing ? coordinator.method({ publicUrl: HUB }) : undefined,
    });
    closers.push(() => made.link.close());
    await made.link.load();
    return made;
  }

  const refusals: [string, MockReply][] = [
    ['unauthorized_client', oauthError('unauthorized_client')],
    ['invalid_client (401)', oauthError('invalid_client', 401)],
    ['invalid_grant', oauthError('invalid_grant')],
    ['any other 400', oauthError('invalid_request')],
    ['a 401 challenge', { status: 401, headers: { 'www-authenticate': 'Bearer realm="device"' }, body: '' }],
    ['a 403 page', { status: 403, headers: { 'content-type': 'text/html' }, body: '<html><h1>Forbidden</h1></html>' }],
    ['Conditional Access (AADSTS53003)', { status: 400, json: CONDITIONAL_ACCESS }],
  ];
  for (const [shape, reply] of refusals) {
    it(`falls back to the pairing page when the device authorization is refused: ${shape}`, async () => {
      mock.reply(mock.paths.device, 'POST', reply);
      const { link, rec } = await newLink();
      const { pending, finished } = await link.start();
      assert.equal(pending.state, 'pending');
      assert.equal(pending.verification_uri, `${HUB}/link`, 'the hub’s page, not the provider’s');
      assert.match(pending.user_code!, /^[A-Z]{4}-[A-Z]{4}$/);
      assert.equal(coordinator.pendingCount, 1);
      assert.ok(rec.logs.some((l) => l.level === 'info' && /refused its device flow.*using the pairing page instead/.test(l.message)));

      const authorize = await continueToProvider(coordinator, pending.user_code!);
      assert.equal(authorize.origin + authorize.pathname, `${mock.origin}/oauth/authorize`);
      assert.equal(mock.calls.filter((c) => c.path === mock.paths.device).length, 1);
      assert.equal(mock.tokenCalls(MOCK_DEVICE_CODE_GRANT).length, 0, 'no device code to poll');
      link.cancel();
      assert.equal((await finished).state, 'unlinked');
    });
  }

  it('does not fall back for a refused scope, an outage or a network failure', async () => {
    const cases: [MockReply, string][] = [
      [oauthError('invalid_scope'), 'invalid_scope'],
      [{ status: 503 }, 'provider_unavailable'],
      [{ error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }, 'network'],
    ];
    const { link } = await newLink();
    for (const [reply, code] of cases) {
      mock.reply(mock.paths.device, 'POST', reply);
      await assert.rejects(link.start(), { code });
      assert.equal(link.snapshot().state, 'unlinked');
    }
    assert.equal(coordinator.pendingCount, 0);
  });

  it('without an authorization endpoint, fails with words that name the settings to change', async () => {
    mock.reply(mock.paths.device, 'POST', oauthError('unauthorized_client'));
    const { link, rec } = await newLink({ authorizationEndpoint: undefined });
    await assert.rejects(link.start(), (err: Error & { code: string }) => {
      assert.equal(err.code, 'device_flow_refused');
      assert.equal(
        err.message,
        'auth.example.test refused its device flow to this app (unauthorized_client). Allow the device authorization grant ' +
          'for this client at the provider; or set the account-link node\'s Flow to "pairing page" and fill in the authorization endpoint.',
      );
      return true;
    });
    assert.equal(link.snapshot().state, 'unlinked');
    assert.equal(coordinator.pendingCount, 0);
    assert.deepEqual(rec.eventTypes(), ['error'], 'the failed start is in the snapshot and its error event (issue 15)');
  });

  it('with flow "device", or without the pairing page, the refusal is reported instead', async () => {
    mock.reply(mock.paths.device, 'POST', oauthError('unauthorized_client'), 2);
    const chosen = await newLink({ flow: 'device' });
    await assert.rejects(chosen.link.start(), { code: 'device_flow_refused', message: /set the account-link node's Flow to "pairing page"\.$/ });
    const noPage = await newLink({}, false);
    await assert.rejects(noPage.link.start(), { code: 'device_flow_refused' });
    assert.equal(coordinator.pendingCount, 0);
  });

  describe('Microsoft', () => {
    let microsoft: MockProvider;
    beforeEach(() => {
      microsoft = new MockProvider(clock, 'https://login.microsoftonline.com');
      microsoft.paths.device = '/common/oauth2/v2.0/devicecode';
      microsoft.paths.token = '/common/oauth2/v2.0/token';
    });
    afterEach(() => microsoft.close());

    /** The Microsoft preset, its endpoints served by MockAgent. */
    const preset = { provider: 'microsoft', clientId: 'ms-client', scope: undefined, ...Object.fromEntries(
      ['tokenEndpoint', 'authorizationEndpoint', 'deviceAuthorizationEndpoint', 'userinfoEndpoint', 'revocationEndpoint'].map((f) => [f, undefined]),
    ) } as const;

    it('Conditional Access after the code was shown: the pairing page takes over, asking for the account chooser', async () => {
      microsoft.deviceAuthorization({ interval: 5 });
      microsoft.token({ status: 400, json: CONDITIONAL_ACCESS });
      const { link, rec } = await newLink(preset, true, microsoft);
      const { pending, finished } = await link.start();
      assert.equal(pending.user_code, 'WDJB-MJHT', 'Microsoft’s own code first');
      const replaced = new Promise<void>((resolve) => link.on('snapshot', (s) => s.verification_uri === `${HUB}/link` && resolve()));
      await clock.advance(5_000);
      await replaced;

      const shown = link.snapshot();
      assert.equal(shown.state, 'pending');
      assert.notEqual(shown.user_code, 'WDJB-MJHT');
      assert.deepEqual(rec.eventTypes(), ['linking_started', 'linking_started'], 'a new code, announced again');
      await clock.advance(60_000);
      assert.equal(microsoft.tokenCalls(MOCK_DEVICE_CODE_GRANT).length, 1, 'no more polling');

      const authorize = await continueToProvider(coordinator, shown.user_code!);
      assert.equal(authorize.origin + authorize.pathname, 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize');
      assert.equal(authorize.searchParams.get('prompt'), 'select_account');
      link.cancel();
      assert.equal((await finished).state, 'unlinked');
    });

    it('with flow "device", a refusal names the app registration setting', async () => {
      microsoft.reply(microsoft.paths.device, 'POST', oauthError('unauthorized_client'));
      const { link } = await newLink({ ...preset, flow: 'device' }, true, microsoft);
      await assert.rejects(link.start(), { code: 'device_flow_refused', message: /^Microsoft refused its device flow.*"Allow public client flows" to Yes/ });
    });
  });

  describe('the account chooser', () => {
    /** The authorization URL the pairing page sends a person to for this provider. */
    async function authorizeUrl(settings: ProviderSettings): Promise<URL> {
      const { link } = await makeLink({ settings, clock, pairing: coordinator.method({ publicUrl: HUB }) });
      closers.push(() => link.close());
      await link.load();
      const { pending } = await link.start();
      return continueToProvider(coordinator, pending.user_code!);
    }

    it('Spotify: show_dialog=true', async () => {
      const url = await authorizeUrl({ provider: 'spotify', clientId: 'spotify-client' });
      assert.equal(url.origin + url.pathname, 'https://accounts.spotify.com/authorize');
      assert.equal(url.searchParams.get('show_dialog'), 'true');
    });

    it('Google: prompt select_account (with consent and offline access, so a relink gets a refresh token)', async () => {
      const url = await authorizeUrl({ provider: 'google', clientId: 'google-client', clientSecret: 'x', flow: 'pairing' });
      assert.deepEqual(url.searchParams.get('prompt')!.split(' ').sort(), ['consent', 'select_account']);
      assert.equal(url.searchParams.get('access_type'), 'offline');
    });

    it('Microsoft: prompt=select_account; GitHub, which has no chooser, gets no prompt', async () => {
      const ms = await authorizeUrl({ provider: 'microsoft', clientId: 'ms-client', flow: 'pairing' });
      assert.equal(ms.searchParams.get('prompt'), 'select_account');
      const gh = await authorizeUrl({ provider: 'github', clientId: 'gh-client', flow: 'pairing' });
      assert.equal(gh.searchParams.has('prompt'), false);
    });
  });
});
