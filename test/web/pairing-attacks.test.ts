import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { ManualClock } from '../helpers/manual-clock.js';
import type { TestProvider } from '../../demo/sign-in-server.js';
import { usePairingSuite, visibleText, type HubBrowser, type PairingHub } from './fixtures.js';

const COOKIE = 'account_link_pairing';

/**
 * Issue 10, as an attacker on the home network would try it: the pairing page against a real
 * authorization server (oidc-provider). Each case failed on the page before the pairing cookie.
 */
describe('web: pairing page attacks (HTTP)', function () {
  let provider: TestProvider;
  let clock: ManualClock;
  let hub: PairingHub;

  const suite = usePairingSuite({ allowAnyRedirectUri: true });
  beforeEach(() => {
    ({ provider, clock, hub } = suite);
  });

  /** A wrong code of the right shape. */
  const wrongFor = (code: string, n = 0): string => {
    const candidates = ['BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD', 'FFFF-FFFF', 'GGGG-GGGG', 'HHHH-HHHH'];
    return candidates.filter((c) => c !== code)[n % 5]!;
  };

  it('a second browser with the code’s callback address is refused (403, finish on the phone), and the link stays as it was', async () => {
    const { link, rec } = await hub.newLink({ redirectUri: 'http://127.0.0.1:9/link/callback' });
    const { pending, finished } = await link.start();
    const back = await provider.authorize(await hub.enterCode(pending.user_code!));
    const before = link.snapshot();
    const snapshotsBefore = rec.snapshots.length;

    const intruder = hub.browser({ address: '127.0.0.2' });
    const callback = new URL(back);
    for (const attempt of [
      () => intruder.request(callback.pathname + callback.search),
      () => intruder.request('/link/callback', { form: { url: back } }),
    ]) {
      const refused = await attempt();
      assert.equal(refused.status, 403, visibleText(refused.text));
      assert.match(visibleText(refused.text), /^Finish on the phone where the code was entered/);
      assert.match(visibleText(refused.text), /Nothing was changed/);
    }
    // Even with a made-up cookie of the right shape.
    const forged = await intruder.request(callback.pathname + callback.search, { headers: { cookie: `${COOKIE}=${'A'.repeat(43)}` } });
    assert.equal(forged.status, 403);
    assert.equal(provider.count('authorization_code'), 0, 'the intruder’s answer never reached the provider');
    assert.deepEqual(link.snapshot(), before, 'the link is as it was');
    assert.equal(rec.snapshots.length, snapshotsBefore, 'no snapshot was emitted');
    assert.ok(hub.logs.some((line) => /did not enter the code/.test(line)));

    // The phone that entered the code still finishes with the same address.
    const pasted = await hub.request('/link/callback', { form: { url: back } });
    assert.match(visibleText(pasted.text), /^Linked as Alice/);
    assert.equal((await finished).state, 'linked');
  });

  it('the pairing cookie: HttpOnly, SameSite=Lax, scoped to the page, its hash bound into the signed state', async () => {
    const { link } = await hub.newLink();
    const { pending } = await link.start();
    const confirm = await hub.request('/link', { form: { user_code: pending.user_code! } });
    const setCookie = confirm.headers.get('set-cookie')!;
    assert.match(setCookie, new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43}; Path=/link; Max-Age=1500; HttpOnly; SameSite=Lax$`));
    const key = setCookie.split(';')[0]!.split('=')[1]!;
    assert.ok(!confirm.text.includes(key), 'the key is not on the page');
    const authorizeUrl = new URL(await hub.enterCode(pending.user_code!));
    const claims = JSON.parse(Buffer.from(authorizeUrl.searchParams.get('state')!.split('.')[0]!, 'base64url').toString()) as { b: string };
    assert.equal(claims.b, createHash('sha256').update(key).digest('base64url'));
    assert.ok(!authorizeUrl.href.includes(key));
    assert.ok(!hub.logs.join('\n').includes(key), 'the key is never logged');
  });

  it('Continue is refused to a browser that did not enter the code', async () => {
    const { link } = await hub.newLink();
    const { pending } = await link.start();
    const confirm = await hub.request('/link', { form: { user_code: pending.user_code! } });
    const attempt = /name="attempt" value="([^"]+)"/.exec(confirm.text)![1]!;
    const intruder = hub.browser({ address: '127.0.0.2' });
    const refused = await intruder.request('/link/continue', { form: { attempt } });
    assert.equal(refused.status, 403);
    assert.equal(refused.location, null, 'no authorization URL for the intruder');
    const gone = await intruder.request('/link/continue', { form: { attempt: 'no-such-attempt' } });
    assert.equal(gone.status, 410);
    assert.equal(link.snapshot().state, 'pending');
  });

  it('refuses cross-site POSTs (Sec-Fetch-Site, Origin) on every form, and nothing changes', async () => {
    const { link } = await hub.newLink();
    const { pending } = await link.start();
    const crossSite: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${hub.port}` },
      { origin: 'null' },
    ];
    for (const headers of crossSite) {
      const code = await hub.request('/link', { form: { user_code: pending.user_code! }, headers });
      assert.equal(code.status, 403, JSON.stringify(headers));
      assert.match(visibleText(code.text), /another website sent it/);
      assert.equal(code.headers.get('set-cookie'), null);
    }
    assert.equal(link.snapshot().user_code, pending.user_code, 'the code still waits');

    const sameOrigin: Record<string, string>[] = [{ 'sec-fetch-site': 'same-origin' }, { origin: hub.url }, {}];
    const confirm = await hub.request('/link', { form: { user_code: pending.user_code! }, headers: sameOrigin[0] });
    assert.equal(confirm.status, 200);
    const attempt = /name="attempt" value="([^"]+)"/.exec(confirm.text)![1]!;
    for (const [path, form] of [
      ['/link/continue', { attempt }],
      ['/link/callback', { url: 'http://127.0.0.1:9/link/callback?code=x&state=y.z' }],
    ] as const) {
      for (const headers of crossSite) {
        const refused = await hub.request(path, { form, headers });
        assert.equal(refused.status, 403, `${path} ${JSON.stringify(headers)}`);
        assert.equal(refused.location, null);
      }
    }
    for (const headers of sameOrigin) {
      const continued = await hub.request('/link/continue', { form: { attempt }, headers });
      assert.equal(continued.status, 303, JSON.stringify(headers));
    }
  });

  it('an address with 5 wrong codes in 15 minutes gets 429 with Retry-After, and so does its next try, right code or not', async () => {
    const { link } = await hub.newLink();
    const { pending } = await link.start();
    // A malformed entry (a vowel, too short) is not a guess and does not count.
    for (const typo of ['AEIO-UUUU', 'BDWP-HQP', 'AEIO-UUUU', 'BDWP-HQP', 'AEIO-UUUU', 'AEIO-UUUU']) {
      const malformed = await hub.request('/link', { form: { user_code: typo } });
      assert.equal(malformed.status, 400);
      assert.match(visibleText(malformed.text), /8 letters \(no vowels\)/);
    }
    for (let i = 1; i <= 4; i++) {
      const wrong = await hub.request('/link', { form: { user_code: wrongFor(pending.user_code!, i) } });
      assert.equal(wrong.status, 400);
      assert.match(visibleText(wrong.text), /That code is not valid/);
      clock.setNow(clock.now() + 60_000);
    }
    const fifth = await hub.request('/link', { form: { user_code: wrongFor(pending.user_code!) } });
    assert.equal(fifth.status, 429);
    // The window counts from the first failure, 4 minutes ago.
    assert.equal(fifth.headers.get('retry-after'), String(11 * 60));
    const right = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(right.status, 429, 'the right code is refused too');
    assert.ok(right.headers.get('retry-after'));
    assert.equal(right.headers.get('set-cookie'), null);
    // The code was not cancelled: another address can still use it.
    assert.equal(link.snapshot().user_code, pending.user_code);
    const other = hub.browser({ address: '127.0.0.2' });
    const confirm = await other.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(confirm.status, 200, visibleText(confirm.text));
  });

  it('a code dies only after 20 wrong tries from all addresses together', async () => {
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    const addresses: HubBrowser[] = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map((address) => hub.browser({ address }));
    let tries = 0;
    for (const [index, guesser] of addresses.entries()) {
      for (let i = 0; i < 5; i++) {
        const response = await guesser.request('/link', { form: { user_code: wrongFor(pending.user_code!, i) } });
        tries++;
        if (tries < 20) assert.equal(hub.coordinator.pendingCount, 1, `alive after ${tries} wrong tries`);
        // Each address is stopped at its fifth wrong code.
        assert.equal(response.status, i === 4 ? 429 : 400, `address ${index}, try ${i + 1}`);
      }
      const blocked = await guesser.request('/link', { form: { user_code: pending.user_code! } });
      assert.equal(blocked.status, 429);
    }
    assert.equal(hub.coordinator.pendingCount, 0, 'dead after 20');
    const done = await finished;
    assert.equal(done.error?.code, 'code_expired');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'code_expired']);
    const late = await hub.browser({ address: '127.0.0.6' }).request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(late.status, 410);
    assert.match(visibleText(late.text), /no longer valid/);
  });

  it('GET <root>link reveals nothing about pending codes', async () => {
    const stranger = hub.browser({ address: '127.0.0.2' });
    const page = async () => {
      const response = await stranger.request('/link');
      return { status: response.status, text: response.text, csp: response.headers.get('content-security-policy') };
    };
    const none = await page();
    const { link } = await hub.newLink();
    await link.start();
    const oneWaiting = await page();
    const { link: loopback } = await hub.newLink({ redirectUri: 'http://127.0.0.1:9/link/callback' });
    const { pending } = await loopback.start();
    const twoWaiting = await page();
    // Another browser entered one of the codes.
    await hub.request('/link', { form: { user_code: pending.user_code! } });
    const signingIn = await page();
    link.cancel();
    loopback.cancel();
    assert.deepEqual(oneWaiting, none);
    assert.deepEqual(twoWaiting, none);
    assert.deepEqual(signingIn, none);
    assert.doesNotMatch(visibleText(none.text), /waiting|no linking/i);
  });

  it('after a right code, shows what is being authorized, with one Continue button, before anything goes to the provider', async () => {
    const { link } = await hub.newLink({ slug: 'kitchen-speaker' });
    const { pending } = await link.start();
    clock.setNow(clock.now() + 3 * 60_000);
    const confirm = await hub.request('/link', { form: { user_code: pending.user_code! } });
    assert.equal(confirm.status, 200);
    assert.equal(confirm.location, null, 'not sent to the provider yet');
    const text = visibleText(confirm.text);
    const made = new Intl.DateTimeFormat('en-US', { timeStyle: 'short' }).format(Date.parse(pending.code_expires_at!) - 10 * 60_000);
    const name = new URL(provider.issuer).host; // an oidc provider is named by its issuer's host
    assert.ok(text.startsWith(`Link your ${name} account to this hub?`), text);
    assert.ok(text.includes(`Hub ${hostname()} Link kitchen-speaker Account at ${name} Code made ${made} (3 minutes ago)`), text);
    assert.match(text, /Continue only if you started this on your hub yourself/);
    assert.equal((confirm.text.match(/<button/g) ?? []).length, 2, 'Continue, and the folded paste form');
    assert.match(confirm.text, new RegExp(`<form method="post" action="/link/continue">\\n<input type="hidden" name="attempt" value="[A-Za-z0-9_-]+">\\n<button type="submit">Continue to ${escapeRegExp(name)}</button>`));
    assert.ok(confirm.headers.get('content-security-policy')!.includes(`form-action 'self' https: ${provider.issuer}`));
    assert.equal(provider.requests.length, 0);
    // The snapshot no longer shows a code that does not work.
    assert.equal(link.snapshot().waiting_for, 'sign_in');
  });

  it('the code’s browser on the hub itself, back on another loopback name, is sent on to where the code was entered', async () => {
    for (const [entered, arrives] of [
      ['127.0.0.1', 'localhost'],
      ['localhost', '127.0.0.1'],
    ] as const) {
      const { link } = await hub.newLink({ redirectUri: `http://${arrives}:${hub.port}/link/callback` });
      const { pending, finished } = await link.start();
      const phone = hub.browser();
      const authorizeUrl = await hub.enterCode(pending.user_code!, withHost(phone, entered, hub.port));
      const back = new URL(await provider.authorize(authorizeUrl));
      assert.equal(back.host, `${arrives}:${hub.port}`);
      // Cookies belong to a host name: on the other name the browser has none.
      const handedOver = await withHost(phone, arrives, hub.port).request(back.href, { noCookies: true });
      assert.equal(handedOver.status, 303, visibleText(handedOver.text));
      assert.equal(handedOver.location, `http://${entered}:${hub.port}/link/callback${back.search}`);
      assert.equal(provider.count('authorization_code'), 0);
      const linked = await withHost(phone, entered, hub.port).request(handedOver.location!);
      assert.match(visibleText(linked.text), /^Linked as Alice/);
      assert.equal((await finished).state, 'linked');
      provider.requests.length = 0;
    }
    // A browser that is not on the hub (not a loopback name) is refused, not sent on.
    const { link } = await hub.newLink({ redirectUri: `http://localhost:${hub.port}/link/callback` });
    const { pending } = await link.start();
    const back = new URL(await provider.authorize(await hub.enterCode(pending.user_code!)));
    const elsewhere = await withHost(hub.browser(), '192.168.1.20', hub.port).request(back.href);
    assert.equal(elsewhere.status, 403);
  });
});

/** The browser, but every request names `host` in its Host header (the hub listens on 127.0.0.1 only). */
function withHost(browser: HubBrowser, host: string, port: number): HubBrowser {
  return {
    cookies: browser.cookies,
    request: (path, init = {}) => {
      const url = new URL(path, `http://127.0.0.1:${port}`);
      return browser.request(url.pathname + url.search, { ...init, headers: { ...init.headers, host: `${host}:${port}` } });
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
