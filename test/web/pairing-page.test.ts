import assert from 'node:assert/strict';
import { cleanupTempDirs } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { startPairingHub, visibleText, type PairingHub } from './fixtures.js';

const CODE_SHAPE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/** The hub pairing page over plain HTTP, against a real authorization server (oidc-provider). */
describe('web: pairing page (HTTP)', function () {
  let provider: TestProvider;
  let clock: ManualClock;
  let hub: PairingHub;

  before(async () => {
    provider = await startTestProvider({
      allowAnyRedirectUri: true,
      accounts: {
        alice: { name: 'Alice' },
        mallory: { name: '<script>alert("x")</script><img src=x onerror=alert(1)> & \'Mal\'' },
      },
    });
  });
  after(async () => {
    await provider.close();
    await cleanupTempDirs();
  });
  beforeEach(async () => {
    provider.requests.length = 0;
    clock = new ManualClock();
    hub = await startPairingHub({ provider, clock });
  });
  afterEach(async () => {
    await hub.close();
  });

  /** Enters the code on the hub page; returns the provider authorize URL it redirected to. */
  async function enterCode(code: string): Promise<string> {
    const response = await hub.request('/link', { form: { user_code: code } });
    assert.equal(response.status, 303, visibleText(response.text));
    assert.ok(response.location);
    return response.location;
  }

  it('links end to end: code form, 303 to the provider with PKCE S256, callback says "Linked as Alice", the Link emits linked', async () => {
    const { link, rec, store } = await hub.newLink();
    const { pending, finished } = await link.start();
    assert.match(pending.user_code!, CODE_SHAPE);
    assert.equal(pending.verification_uri, `${hub.url}/link`);
    assert.equal(pending.verification_uri_complete, `${hub.url}/link?user_code=${pending.user_code}`);
    assert.equal(Date.parse(pending.code_expires_at!) - clock.now(), 10 * 60_000);

    const form = await hub.request(`/link?user_code=${pending.user_code}`);
    assert.equal(form.status, 200);
    assert.match(form.text, new RegExp(`value="${pending.user_code}"`));
    const csp = form.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(csp.includes(`form-action 'self' https: ${provider.issuer}`), csp);
    assert.doesNotMatch(form.text, /<script/i);
    assert.equal(form.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(form.headers.get('cache-control'), 'no-store');

    // Lower case, no dash, spaces: still the code.
    const typed = ` ${pending.user_code!.replace('-', '').toLowerCase()} `;
    const authorizeUrl = new URL(await enterCode(typed));
    assert.equal(authorizeUrl.origin + authorizeUrl.pathname, provider.endpoints.authorization);
    assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorizeUrl.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(authorizeUrl.searchParams.get('redirect_uri'), `${hub.url}/link/callback`);
    assert.equal(authorizeUrl.searchParams.get('response_type'), 'code');
    assert.equal(authorizeUrl.searchParams.has('code_verifier'), false);
    const state = authorizeUrl.searchParams.get('state')!;
    assert.match(state, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const claims = JSON.parse(Buffer.from(state.split('.')[0], 'base64url').toString()) as { h: string };
    assert.equal(claims.h, `${hub.url}/link/callback`, 'the state carries the hub callback for the relay page');

    const back = new URL(await provider.authorize(authorizeUrl.href));
    assert.equal(back.origin + back.pathname, `${hub.url}/link/callback`);
    const preview = await hub.request(back.pathname + back.search, { method: 'HEAD' });
    assert.equal(preview.status, 200, 'a HEAD (link preview) does not use up the answer');
    const result = await hub.request(back.pathname + back.search);
    assert.equal(result.status, 200, visibleText(result.text));
    assert.match(visibleText(result.text), /^Linked as Alice/);

    const done = await finished;
    assert.equal(done.state, 'linked');
    assert.deepEqual(done.account, { id: 'alice', name: 'Alice' });
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'linked']);
    assert.equal(provider.count('authorization_code'), 1);

    // The same answer again: single-use state.
    const replay = await hub.request(back.pathname + back.search);
    assert.equal(replay.status, 410);
    assert.match(visibleText(replay.text), /already used or has expired/);
    assert.equal(provider.count('authorization_code'), 1, 'a replay never reaches the provider');
    // And the code itself is spent.
    const again = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(again.status, 410);
    assert.match(visibleText(again.text), /already used/);

    // Nothing secret in any page, redirect or log line.
    const verifier = hub.providerRequests.map((body) => new URLSearchParams(body).get('code_verifier')).find(Boolean);
    assert.ok(verifier, 'the token request carried the PKCE verifier');
    const accessToken = await link.accessToken();
    const refreshToken = (await store.read(link.id))?.tokens.refreshToken;
    assert.ok(refreshToken);
    const secrets = [verifier!, accessToken, refreshToken, new URLSearchParams(back.search).get('code')!];
    const everything = [...hub.seen, ...hub.logs, ...rec.logs.map((l) => l.message), JSON.stringify(rec.snapshots), JSON.stringify(rec.events)];
    for (const secret of secrets) {
      for (const text of everything) assert.ok(!text.includes(secret), `a secret leaked into: ${text.slice(0, 120)}`);
    }
  });

  it('refuses a tampered state, then still accepts the genuine answer once', async () => {
    const { link } = await hub.newLink();
    const { pending, finished } = await link.start();
    const back = new URL(await provider.authorize(await enterCode(pending.user_code!)));
    const state = back.searchParams.get('state')!;
    const [payload, mac] = state.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, h: 'http://evil.example/link/callback' })).toString('base64url');
    const tampered = [
      `${forgedPayload}.${mac}`,
      `${payload}.${mac.slice(0, -2)}AA`,
      `${payload}`,
      'x'.repeat(5000),
    ];
    for (const bad of tampered) {
      const query = new URLSearchParams(back.search);
      query.set('state', bad);
      const response = await hub.request(`/link/callback?${query}`);
      assert.equal(response.status, 400, bad.slice(0, 40));
      assert.match(visibleText(response.text), /not valid for this hub/);
    }
    assert.equal(provider.count('authorization_code'), 0);
    const good = await hub.request(back.pathname + back.search);
    assert.equal(good.status, 200);
    assert.equal((await finished).state, 'linked');
  });

  it('five wrong codes kill the waiting code; the right one is then refused', async () => {
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    const wrong = pending.user_code === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB';
    for (let attempt = 1; attempt <= 4; attempt++) {
      const response = await hub.request('/link', { form: { user_code: wrong } });
      assert.equal(response.status, 400);
      assert.match(visibleText(response.text), /That code is not valid\. Check it/);
    }
    assert.equal(hub.coordinator.pendingCount, 1);
    const fifth = await hub.request('/link', { form: { user_code: wrong } });
    assert.match(visibleText(fifth.text), /too many wrong tries/);
    assert.equal(hub.coordinator.pendingCount, 0);
    const done = await finished;
    assert.equal(done.state, 'unlinked');
    assert.equal(done.error?.code, 'code_expired');
    assert.match(done.error!.message, /Too many wrong codes/);
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'code_expired']);
    const late = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(late.status, 410);
    assert.match(visibleText(late.text), /no longer valid/);
    // A malformed entry (a vowel) is not a guess and does not count.
    const malformed = await hub.request('/link', { form: { user_code: 'AEIO-UUUU' } });
    assert.match(visibleText(malformed.text), /8 letters \(no vowels\)/);
  });

  it('digits codes: 9 digits shown 123-456-789, typed any way, with the same limits as letters', async () => {
    const { link, rec } = await hub.newLink({ codeStyle: 'digits' });
    const { pending, finished } = await link.start();
    assert.match(pending.user_code!, /^\d{3}-\d{3}-\d{3}$/);
    assert.match(pending.verification_uri_complete!, /\?user_code=\d{3}-\d{3}-\d{3}$/);
    // Spoken digit by digit, in groups: what a speaker says and a keypad types.
    assert.equal(pending.user_code_spoken!.split(', ').length, 3);
    assert.match(pending.user_code_spoken!, /^((zero|one|two|three|four|five|six|seven|eight|nine) ?){3}, /);
    const wrong = pending.user_code === '111-111-111' ? '222 222 222' : '111 111 111';
    for (let attempt = 1; attempt <= 4; attempt++) {
      assert.match(visibleText((await hub.request('/link', { form: { user_code: wrong } })).text), /That code is not valid/);
    }
    // Typed without dashes: still the code, and it leads to the provider.
    const response = await hub.request('/link', { form: { user_code: pending.user_code!.replace(/-/g, '') } });
    assert.equal(response.status, 303, visibleText(response.text));
    assert.equal(hub.coordinator.pendingCount, 1);
    link.cancel();
    assert.equal((await finished).state, 'unlinked');
    assert.deepEqual(rec.eventTypes(), ['linking_started']);

    // The fifth wrong code kills a digits code as it does a letters one.
    const second = await link.start();
    for (let attempt = 1; attempt <= 5; attempt++) await hub.request('/link', { form: { user_code: wrong } });
    const done = await second.finished;
    assert.equal(done.error?.code, 'code_expired');
    assert.equal(hub.coordinator.pendingCount, 0);
  });

  it('limits failures per address, and lets the address try again after the window', async () => {
    await hub.close();
    hub = await startPairingHub({ provider, clock, coordinator: { limits: { failuresPerAddress: 3, wrongCodesPerCode: 100 } } });
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    for (let i = 0; i < 3; i++) await hub.request('/link', { form: { user_code: 'BCDF-BCDF' } });
    const blocked = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.headers.get('retry-after'), String(15 * 60));
    assert.match(visibleText(blocked.text), /Too many tries from this device\. Wait 15 minutes/);
    const blockedCallback = await hub.request('/link/callback?code=x&state=y.z');
    assert.equal(blockedCallback.status, 429);
    // Not a code fixed by time alone: the window slides with the clock (the code's own timer is 10 min).
    clock.setNow(clock.now() + 15 * 60_000 + 1);
    const allowed = await hub.request('/link', { form: { user_code: pending.user_code! } });
    // The code's life (10 min) ended meanwhile: refused as expired, not as rate-limited.
    assert.equal(allowed.status, 410);
    assert.match(visibleText(allowed.text), /expired/);
    assert.equal((await finished).error?.code, 'code_expired');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'code_expired']);
  });

  it('refuses an expired code: the Link ends with code_expired when the 10 minutes pass', async () => {
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    await clock.advance(10 * 60_000);
    const done = await finished;
    assert.equal(done.state, 'unlinked');
    assert.equal(done.error?.code, 'code_expired');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'code_expired']);
    const response = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(response.status, 410);
    assert.match(visibleText(response.text), /This code has expired/);
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  it('a sign-in that never comes back ends the attempt 10 minutes after the code was entered', async () => {
    const { link } = await hub.newLink();
    const { pending, finished } = await link.start();
    await clock.advance(9 * 60_000);
    const back = new URL(await provider.authorize(await enterCode(pending.user_code!)));
    await clock.advance(9 * 60_000);
    assert.equal(hub.coordinator.pendingCount, 1, 'still waiting 18 min after the start');
    await clock.advance(60_000);
    assert.equal((await finished).error?.code, 'code_expired');
    const late = await hub.request(back.pathname + back.search);
    assert.equal(late.status, 410);
    assert.equal(provider.count('authorization_code'), 0);
  });

  it('escapes a hostile account name on the "Linked as" page', async () => {
    const { link } = await hub.newLink();
    const { pending, finished } = await link.start();
    const back = new URL(await provider.authorize(await enterCode(pending.user_code!), { accountId: 'mallory' }));
    const result = await hub.request(back.pathname + back.search);
    assert.equal(result.status, 200);
    assert.doesNotMatch(result.text, /<script>|<img/i);
    assert.ok(result.text.includes('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;'), result.text);
    assert.ok(result.text.includes('&#38; &#39;Mal&#39;'));
    assert.match(visibleText(result.text), /Linked as <script>alert\("x"\)<\/script>/);
    assert.equal((await finished).account?.id, 'mallory');
  });

  it('paste step: a loopback redirect URI, the address pasted on the hub page finishes linking', async () => {
    const loopback = 'http://127.0.0.1:9/link/callback';
    const { link } = await hub.newLink({ redirectUri: loopback });
    const { pending, finished } = await link.start();
    const form = await hub.request('/link');
    assert.match(visibleText(form.text), /opens an address starting with http:\/\/127\.0\.0\.1 that will not load/);
    assert.match(form.text, /<form method="post" action="\/link\/callback">/);

    const authorizeUrl = new URL(await enterCode(pending.user_code!));
    assert.equal(authorizeUrl.searchParams.get('redirect_uri'), loopback);
    const endedOn = await provider.authorize(authorizeUrl.href);
    assert.ok(endedOn.startsWith(`${loopback}?`), endedOn);

    const garbage = await hub.request('/link/callback', { form: { url: 'http://127.0.0.1:9/link/callback' } });
    assert.equal(garbage.status, 400);
    assert.match(visibleText(garbage.text), /no sign-in answer/);
    const pasted = await hub.request('/link/callback', { form: { url: `  ${endedOn}\n` } });
    assert.equal(pasted.status, 200, visibleText(pasted.text));
    assert.match(visibleText(pasted.text), /^Linked as Alice/);
    assert.equal((await finished).state, 'linked');
    // The token request used the registered (loopback) redirect URI, not the hub's address.
    const tokenRequest = hub.providerRequests.map((b) => new URLSearchParams(b)).find((b) => b.get('grant_type') === 'authorization_code');
    assert.equal(tokenRequest?.get('redirect_uri'), loopback);
  });

  it('a declined sign-in ends the attempt with access_denied and says so', async () => {
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    const back = new URL(await provider.authorize(await enterCode(pending.user_code!), { deny: true }));
    assert.equal(back.searchParams.get('error'), 'access_denied');
    const result = await hub.request(back.pathname + back.search);
    assert.equal(result.status, 403);
    assert.match(visibleText(result.text), /declined on the sign-in page/);
    assert.equal((await finished).error?.code, 'access_denied');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'access_denied']);
  });

  it('without the Link to watch, the page reads the account itself', async () => {
    const { link } = await hub.newLink({ watch: false });
    const { pending, finished } = await link.start();
    const back = new URL(await provider.authorize(await enterCode(pending.user_code!)));
    const result = await hub.request(back.pathname + back.search);
    assert.match(visibleText(result.text), /^Linked as Alice/);
    assert.equal((await finished).state, 'linked');
  });

  it('a confidential client: the secret goes to the token endpoint only, never to a page, redirect or log', async () => {
    const { clientId, clientSecret } = provider.confidentialClient;
    const { link, rec } = await hub.newLink({ settings: { clientId, clientSecret } });
    const { pending, finished } = await link.start();
    const authorizeUrl = await enterCode(pending.user_code!);
    const back = new URL(await provider.authorize(authorizeUrl));
    const result = await hub.request(back.pathname + back.search);
    assert.match(visibleText(result.text), /^Linked as Alice/);
    assert.equal((await finished).state, 'linked');
    assert.ok(hub.providerRequests.some((body) => new URLSearchParams(body).get('client_secret') === clientSecret));
    const everything = [...hub.seen, ...hub.logs, ...rec.logs.map((l) => l.message), JSON.stringify(rec.snapshots), JSON.stringify(rec.events)];
    for (const text of everything) assert.ok(!text.includes(clientSecret), text.slice(0, 120));
  });

  it('cancelling on the hub voids the code and any sign-in under way', async () => {
    const { link } = await hub.newLink();
    const { pending, finished } = await link.start();
    link.cancel();
    await finished;
    assert.equal(hub.coordinator.pendingCount, 0);
    const response = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(response.status, 410);
    assert.equal(clock.pendingTimers, 0);
  });

  it('speaks German, French and Spanish by Accept-Language, English otherwise', async () => {
    const cases: [string, RegExp, string][] = [
      ['de-DE,de;q=0.9,en;q=0.8', /Konto verknüpfen/, 'de'],
      ['fr-CH, fr;q=0.9', /Associer un compte/, 'fr'],
      ['es-419', /Vincular una cuenta/, 'es'],
      ['en-GB,de;q=0.5', /Link an account/, 'en-US'],
      ['ja, zh;q=0.8', /Link an account/, 'en-US'],
      ['de;q=0.2, fr;q=0.7', /Associer un compte/, 'fr'],
    ];
    for (const [header, title, language] of cases) {
      const response = await hub.request('/link', { headers: { 'accept-language': header } });
      assert.match(response.text, title, header);
      assert.equal(response.headers.get('content-language'), language);
    }
    const wrong = await hub.request('/link', { form: { user_code: 'BBBB-BBBB' }, headers: { 'accept-language': 'de' } });
    assert.match(visibleText(wrong.text), /Gerade wartet keine Verknüpfung|nicht gültig/);
  });

  it('works under a non-default httpNodeRoot', async () => {
    await hub.close();
    hub = await startPairingHub({ provider, clock, httpNodeRoot: 'red-nodes' });
    const { link } = await hub.newLink();
    const { pending, finished } = await link.start();
    assert.equal(pending.verification_uri, `${hub.url}/red-nodes/link`);
    const form = await hub.request('/red-nodes/link');
    assert.match(form.text, /action="\/red-nodes\/link"/);
    const response = await hub.request('/red-nodes/link', { form: { user_code: pending.user_code! } });
    const back = new URL(await provider.authorize(response.location!));
    assert.equal(back.pathname, '/red-nodes/link/callback');
    await hub.request(back.pathname + back.search);
    assert.equal((await finished).state, 'linked');
  });

  it('refuses oversized forms and survives junk input', async () => {
    const big = await hub.request('/link', { form: { user_code: 'B'.repeat(20_000) } });
    assert.equal(big.status, 413);
    const junk = await hub.request('/link', { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(junk.status, 400);
    const nothing = await hub.request('/link/callback');
    assert.equal(nothing.status, 200, 'the paste form');
    assert.match(nothing.text, /name="url"/);
    const weird = await hub.request('/link/callback?state=%00%FF&code=');
    assert.equal(weird.status, 400);
  });
});
