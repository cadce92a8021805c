import assert from 'node:assert/strict';
import type { ManualClock } from '../helpers/manual-clock.js';
import type { TestProvider } from '../../demo/sign-in-server.js';
import { usePairingSuite, visibleText, type PairingHub } from './fixtures.js';

const CODE_SHAPE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/** The hub pairing page over plain HTTP, against a real authorization server (oidc-provider). */
describe('web: pairing page (HTTP)', function () {
  let provider: TestProvider;
  let clock: ManualClock;
  let hub: PairingHub;

  const suite = usePairingSuite({
      allowAnyRedirectUri: true,
      accounts: {
        alice: { name: 'Alice' },
        mallory: { name: '<script>alert("x")</script><img src=x onerror=alert(1)> & \'Mal\'' },
      },
    });
  beforeEach(() => {
    ({ provider, clock, hub } = suite);
  });

  /** Enters the code on the hub page and continues; returns the provider authorize URL it redirected to. */
  const enterCode = (code: string): Promise<string> => hub.enterCode(code);

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
    assert.ok(csp.includes(`form-action 'self' https:;`), csp);
    assert.doesNotMatch(form.text, /<script/i);
    assert.equal(form.headers.get('referrer-policy'), 'same-origin', 'a Referer only to the hub itself, so forms carry their Origin');
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
    const cookie = hub.cookies.get('account_link_pairing');
    assert.ok(cookie, 'the phone holds the pairing cookie');
    const secrets = [verifier!, accessToken, refreshToken, new URLSearchParams(back.search).get('code')!, cookie!];
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

  it('digits codes: 9 digits shown 123-456-789, typed any way', async () => {
    const { link } = await hub.newLink({ codeStyle: 'digits' });
    const { pending, finished } = await link.start();
    assert.match(pending.user_code!, /^\d{3}-\d{3}-\d{3}$/);
    assert.match(pending.verification_uri_complete!, /\?user_code=\d{3}-\d{3}-\d{3}$/);
    // Spoken digit by digit, in groups: what a speaker says and a keypad types.
    assert.equal(pending.user_code_spoken!.split(', ').length, 3);
    assert.match(pending.user_code_spoken!, /^((zero|one|two|three|four|five|six|seven|eight|nine) ?){3}, /);
    // Typed without dashes: still the code, and the page asks to confirm before the provider.
    const response = await hub.request('/link', { form: { user_code: pending.user_code!.replace(/-/g, '') } });
    assert.equal(response.status, 200, visibleText(response.text));
    assert.match(visibleText(response.text), /Link your .* account to this hub\?/);
    link.cancel();
    assert.equal((await finished).state, 'unlinked');
  });

  it('limits failures per address, and lets the address try again after the window', async () => {
    hub = await suite.restart({ coordinator: { limits: { failuresPerAddress: 3, wrongCodesPerCode: 100 } } });
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
    assert.match(form.text, /<form method="post" action="\/link\/callback">/);
    // The confirmation page explains the paste step, with the paste form open.
    const confirm = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.match(visibleText(confirm.text), /opens an address starting with http:\/\/127\.0\.0\.1 that will not load/);
    assert.match(confirm.text, /<section id="paste">\n<h2>/);
    // Browsers check form-action along the whole redirect chain after Continue: a provider that sends an
    // already-approved person straight back must be allowed to land on the redirect URI's origin.
    assert.match(confirm.headers.get('content-security-policy')!, /form-action 'self' https:[^;]* http:\/\/127\.0\.0\.1:9(;| )/);

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

  it('once the code is entered, the snapshot waits for the sign-in; a declined sign-in can start again from the same page, no new code', async () => {
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    assert.equal(pending.waiting_for, 'code');
    const enteredAt = clock.now();
    const authorizeUrl = await enterCode(pending.user_code!);
    const waiting = link.snapshot();
    assert.equal(waiting.state, 'pending');
    assert.equal(waiting.waiting_for, 'sign_in');
    assert.equal(waiting.user_code, null, 'no code that no longer works');
    assert.equal(waiting.verification_uri_complete, null);
    assert.equal(waiting.verification_uri, pending.verification_uri);
    assert.equal(waiting.code_expires_at, new Date(enteredAt + 10 * 60_000).toISOString(), 'when the sign-in must be done');
    assert.match(waiting.prompt!, /^Waiting for the sign-in to .* on the phone where the code was entered$/);
    assert.deepEqual(rec.eventTypes(), ['linking_started'], 'a snapshot, no event');

    const back = new URL(await provider.authorize(authorizeUrl, { deny: true }));
    assert.equal(back.searchParams.get('error'), 'access_denied');
    const declined = await hub.request(back.pathname + back.search);
    assert.equal(declined.status, 403);
    assert.match(visibleText(declined.text), /declined on the sign-in page.*You can try again without a new code until/);
    assert.match(declined.text, /<a href="\/link">Start the sign-in to .* again<\/a>/);
    const afterDecline = link.snapshot();
    assert.equal(afterDecline.state, 'pending');
    assert.equal(afterDecline.waiting_for, 'sign_in');
    assert.equal(afterDecline.error?.code, 'access_denied');

    // The same page (and the same code, in this browser) lead on to the provider again.
    const again = await hub.request('/link');
    assert.match(visibleText(again.text), /The last try did not work: The request was declined/);
    const sameCode = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(sameCode.status, 200, 'the browser that entered the code may enter it again');
    const stranger = await hub.browser({ address: '127.0.0.2' }).request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(stranger.status, 410, 'for anyone else the code is used');
    // The declined answer is spent.
    assert.equal((await hub.request(back.pathname + back.search)).status, 410);
    const retried = new URL(await provider.authorize(await enterCode(pending.user_code!)));
    const linked = await hub.request(retried.pathname + retried.search);
    assert.match(visibleText(linked.text), /^Linked as Alice/);
    assert.equal((await finished).state, 'linked');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'linked']);
  });

  it('a declined sign-in nobody tries again ends the attempt with access_denied when it expires', async () => {
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    const back = new URL(await provider.authorize(await enterCode(pending.user_code!), { deny: true }));
    assert.equal((await hub.request(back.pathname + back.search)).status, 403);
    await clock.advance(10 * 60_000);
    const done = await finished;
    assert.equal(done.state, 'unlinked');
    assert.equal(done.error?.code, 'access_denied');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'access_denied']);
    const gone = await hub.request('/link');
    assert.match(visibleText(gone.text), /^Link an account Enter the code/, 'the form again, not the ended attempt');
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
    assert.match(visibleText(wrong.text), /Dieser Code ist nicht gültig/);
  });

  it('works under a non-default httpNodeRoot', async () => {
    hub = await suite.restart({ httpNodeRoot: 'red-nodes' });
    const { link } = await hub.newLink();
    const { pending, finished } = await link.start();
    assert.equal(pending.verification_uri, `${hub.url}/red-nodes/link`);
    const form = await hub.request('/red-nodes/link');
    assert.match(form.text, /action="\/red-nodes\/link"/);
    const back = new URL(await provider.authorize(await enterCode(pending.user_code!)));
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
