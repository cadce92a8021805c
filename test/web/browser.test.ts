import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { cleanupTempDirs } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { startPairingHub, type PairingHub } from './fixtures.js';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const RELAY_HTML = readFileSync(path.join(ROOT, 'docs/relay/index.html'), 'utf8');

/** A phone (390×844, touch) walking through the pairing page in headless Chromium. */
describe('web: pairing page in Chromium at a phone viewport', function () {
  this.timeout(60_000);
  let browser: Browser;
  let provider: TestProvider;
  let clock: ManualClock;
  let hub: PairingHub;
  let context: BrowserContext;
  let page: Page;
  let relay: { url: string; server: Server };

  before(async function () {
    if (chromiumMissing()) this.skip();
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    provider = await startTestProvider({ allowAnyRedirectUri: true });
    relay = await serveRelayPage();
  });
  after(async () => {
    await browser?.close();
    await provider?.close();
    if (relay) {
      relay.server.closeAllConnections();
      await new Promise<void>((resolve) => relay.server.close(() => resolve()));
    }
    await cleanupTempDirs();
  });
  beforeEach(async () => {
    clock = new ManualClock();
    hub = await startPairingHub({ provider, clock });
    context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      javaScriptEnabled: true,
      userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
    });
    await keepToLoopback(context);
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
    await hub?.close();
  });

  /** Signs in and consents on oidc-provider's development pages. */
  async function signInAndApprove(account = 'alice'): Promise<void> {
    await page.waitForSelector('input[name="login"]');
    await page.fill('input[name="login"]', account);
    await page.fill('input[name="password"]', 'any');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    // Consent (skipped by the provider when already granted).
    if (await page.$('input[name="prompt"][value="consent"]')) {
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    }
  }

  /** Presses the confirmation page's one Continue button. */
  async function continueToProvider(): Promise<void> {
    await Promise.all([page.waitForNavigation(), page.click('form[action="/link/continue"] button[type="submit"]')]);
  }

  it('enter the code → sign in → approve → "Linked as Alice", and the Link emits linked', async () => {
    const { link, rec } = await hub.newLink();
    const { pending, finished } = await link.start();
    const linked = new Promise<void>((resolve) => link.on('event', (e) => e.event_type === 'linked' && resolve()));

    // The person types the code from the display (as spoken: lower case, no dash).
    await page.goto(pending.verification_uri!);
    await page.screenshot({ path: path.join(ARTIFACTS, 'pairing-1-code-form.png'), fullPage: true });
    const scriptsRun = await page.evaluate(() => document.scripts.length);
    assert.equal(scriptsRun, 0, 'the page works without scripts');
    await page.fill('#user_code', pending.user_code!.replace('-', '').toLowerCase());
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    // What is being authorized, before anything goes to the provider (RFC 8628 §5.4).
    assert.match((await page.textContent('h1'))!, /^Link your .* account to this hub\?$/);
    assert.match((await page.textContent('.warn'))!, /Continue only if you started this on your hub yourself/);
    assert.equal(link.snapshot().waiting_for, 'sign_in');
    await page.screenshot({ path: path.join(ARTIFACTS, 'pairing-1b-confirm.png'), fullPage: true });
    await continueToProvider();
    assert.ok(page.url().startsWith(provider.endpoints.authorization) || page.url().startsWith(provider.issuer), page.url());
    await page.screenshot({ path: path.join(ARTIFACTS, 'pairing-2-provider-sign-in.png'), fullPage: true });

    await signInAndApprove();
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'Linked as Alice');
    assert.ok(page.url().startsWith(`${hub.url}/link/callback?`));
    await page.screenshot({ path: path.join(ARTIFACTS, 'pairing-3-linked.png'), fullPage: true });
    await linked;
    const done = await finished;
    assert.equal(done.state, 'linked');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'linked']);

    // No horizontal scrolling on a phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  });

  it('a wrong code shows the form again with the error, in the phone’s language', async () => {
    await context.close();
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'de-DE' });
    await keepToLoopback(context);
    page = await context.newPage();
    const { link } = await hub.newLink();
    const { pending } = await link.start();
    await page.goto(`${hub.url}/link`);
    const wrong = pending.user_code === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB';
    await page.fill('#user_code', wrong);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.match((await page.textContent('[role="alert"]'))!, /Dieser Code ist nicht gültig/);
    assert.equal(await page.inputValue('#user_code'), wrong, 'what was typed stays in the field');
    await page.screenshot({ path: path.join(ARTIFACTS, 'pairing-4-wrong-code-de.png'), fullPage: true });
  });

  it('loopback redirect URI: the phone ends on 127.0.0.1, the person pastes that address on the hub page', async () => {
    // A loopback port nothing listens on (Chromium refuses "unsafe" ports such as 9 before sending anything).
    const loopback = `http://127.0.0.1:${await closedPort()}/link/callback`;
    const { link } = await hub.newLink({ redirectUri: loopback });
    const { pending, finished } = await link.start();
    await page.goto(pending.verification_uri_complete!);
    assert.equal(await page.inputValue('#user_code'), pending.user_code);
    await page.screenshot({ path: path.join(ARTIFACTS, 'pairing-5-loopback-note.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('form[action="/link"] button[type="submit"]')]);
    await continueToProvider();

    const endedOn = page.waitForRequest((request) => request.url().startsWith(`${loopback}?`));
    // The last navigation fails (nothing listens on the loopback port, as on a phone).
    await signInAndApprove().catch(() => undefined);
    const address = (await endedOn).url();

    // The browser could not load it; the person opens the hub page again (a new tab) and pastes.
    page = await context.newPage();
    await page.goto(pending.verification_uri!);
    assert.ok(await page.isVisible('#url'), 'the paste form is open for the browser that entered the code');
    await page.fill('#url', address);
    await page.screenshot({ path: path.join(ARTIFACTS, 'pairing-6-paste.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), page.click('form[action="/link/callback"] button[type="submit"]')]);
    assert.equal(await page.textContent('h1'), 'Linked as Alice');
    assert.equal((await finished).state, 'linked');
  });

  it('relay page: forwards the answer to the hub named in the state, and the link completes', async () => {
    const { link } = await hub.newLink({ redirectUri: `${relay.url}/relay/` });
    const { pending, finished } = await link.start();
    await page.goto(pending.verification_uri!);
    await page.fill('#user_code', pending.user_code!);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/link"] button[type="submit"]')]);
    await continueToProvider();
    const relayed = page.waitForRequest((request) => request.url().startsWith(`${relay.url}/relay/?`));
    await signInAndApprove();
    await relayed;
    await page.waitForURL(`${hub.url}/link/callback?**`);
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'Linked as Alice');
    assert.equal((await finished).state, 'linked');
  });

  it('a second browser holding the code and the callback address is refused, and the link stays as it was', async () => {
    const loopback = `http://127.0.0.1:${await closedPort()}/link/callback`;
    const { link, rec } = await hub.newLink({ redirectUri: loopback });
    const { pending, finished } = await link.start();
    await page.goto(pending.verification_uri_complete!);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/link"] button[type="submit"]')]);
    await continueToProvider();
    const endedOn = page.waitForRequest((request) => request.url().startsWith(`${loopback}?`));
    await signInAndApprove().catch(() => undefined);
    const address = (await endedOn).url();
    const before = link.snapshot();
    const snapshots = rec.snapshots.length;
    const exchanges = provider.count('authorization_code');

    // Someone else's phone: it saw the code and got hold of the address the first phone ended on.
    const other = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await keepToLoopback(other);
    try {
      const intruder = await other.newPage();
      await intruder.goto(pending.verification_uri_complete!);
      await Promise.all([intruder.waitForNavigation(), intruder.click('form[action="/link"] button[type="submit"]')]);
      assert.match((await intruder.textContent('[role="alert"]'))!, /already used/);
      await intruder.goto(pending.verification_uri!);
      await intruder.click('#paste summary');
      await intruder.fill('#url', address);
      const [pasted] = await Promise.all([intruder.waitForNavigation(), intruder.click('form[action="/link/callback"] button[type="submit"]')]);
      assert.equal(pasted?.status(), 403);
      assert.equal(await intruder.textContent('h1'), 'Finish on the phone where the code was entered');
      await intruder.screenshot({ path: path.join(ARTIFACTS, 'pairing-7-other-phone-refused.png'), fullPage: true });
      const opened = await intruder.goto(`${hub.url}/link/callback${new URL(address).search}`);
      assert.equal(opened?.status(), 403);
    } finally {
      await other.close();
    }
    assert.deepEqual(link.snapshot(), before, 'the link stays as it was');
    assert.equal(rec.snapshots.length, snapshots);
    assert.equal(provider.count('authorization_code'), exchanges, 'nothing reached the provider');

    // The phone that entered the code finishes.
    await page.goto(pending.verification_uri!);
    await page.fill('#url', address);
    await Promise.all([page.waitForNavigation(), page.click('form[action="/link/callback"] button[type="submit"]')]);
    assert.equal(await page.textContent('h1'), 'Linked as Alice');
    assert.equal((await finished).state, 'linked');
  });

  it('a browser on the hub itself: code entered at 127.0.0.1, answer at localhost, sent on and linked', async () => {
    const { link } = await hub.newLink({ redirectUri: `http://localhost:${hub.port}/link/callback` });
    const { pending, finished } = await link.start();
    await page.goto(pending.verification_uri_complete!);
    assert.ok(page.url().startsWith('http://127.0.0.1:'));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/link"] button[type="submit"]')]);
    await continueToProvider();
    const arrived = page.waitForRequest((request) => request.url().startsWith(`http://localhost:${hub.port}/link/callback?`));
    await signInAndApprove();
    await arrived;
    await page.waitForURL(`${hub.url}/link/callback?**`);
    assert.equal(await page.textContent('h1'), 'Linked as Alice');
    assert.equal((await finished).state, 'linked');
  });

  it('a form on another site that posts the code to the hub is refused, and the code still waits', async () => {
    const { link } = await hub.newLink();
    const { pending } = await link.start();
    const attacker = `http://localhost:${relay.url.split(':').pop()}/attack/`;
    await page.route(attacker, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<form method="post" action="${hub.url}/link"><input name="user_code" value="${pending.user_code}"><button>go</button></form>`,
      }),
    );
    await page.goto(attacker);
    const [answer] = await Promise.all([page.waitForNavigation(), page.click('button')]);
    assert.equal(answer?.status(), 403);
    assert.match((await page.textContent('[role="alert"]'))!, /another website sent it/);
    assert.equal(link.snapshot().user_code, pending.user_code);
    const cookies = await context.cookies(hub.url);
    assert.deepEqual(cookies.map((c) => c.name), [], 'no pairing cookie was set');
  });

  it('relay page: refuses a state naming a public or non-hub address, and sends nothing', async () => {
    const cases = [
      { h: 'http://203.0.113.7:1880/link/callback', says: /203\.0\.113\.7:1880, which is not on a home network/ },
      { h: 'https://evil.example.com/link/callback', says: /evil\.example\.com, which is not on a home network/ },
      { h: 'http://192.168.1.20:1880/admin', says: /not a hub’s pairing page/ },
      { h: 'javascript:alert(1)//link/callback', says: /not a hub’s pairing page/ },
    ];
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    for (const [index, { h, says }] of cases.entries()) {
      const state = `${Buffer.from(JSON.stringify({ v: 1, a: 'x', n: 'y', h })).toString('base64url')}.bogus`;
      await page.goto(`${relay.url}/relay/?code=abc&state=${state}`);
      await page.waitForFunction(() => document.documentElement.getAttribute('data-relay') !== null);
      assert.equal(await page.getAttribute('html', 'data-relay'), 'refused', h);
      assert.match((await page.textContent('#message'))!, says);
      if (index === 0) await page.screenshot({ path: path.join(ARTIFACTS, 'relay-refused-public.png'), fullPage: true });
    }
    assert.deepEqual(
      requests.filter((url) => !url.startsWith(`${relay.url}/relay/`)),
      [],
      'the relay page never contacted another address',
    );
    // Which hosts count as home: relay-hosts.test.ts runs this page against the whole table.
  });

  it('relay page: also works from a file:// URL (its CSP hashes match its script)', async () => {
    const file = `file://${path.join(ROOT, 'docs/relay/index.html')}`;
    await page.goto(`${file}?code=abc&state=${Buffer.from(JSON.stringify({ h: 'http://198.51.100.1/link/callback' })).toString('base64url')}.x`);
    await page.waitForFunction(() => document.documentElement.getAttribute('data-relay') !== null);
    assert.equal(await page.getAttribute('html', 'data-relay'), 'refused');
  });
});

/** Aborts every request that would leave the machine (the provider's dev pages import a web font). */
async function keepToLoopback(context: BrowserContext): Promise<void> {
  await context.route(
    (url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && url.protocol !== 'file:',
    (route) => route.abort('blockedbyclient'),
  );
}

/** A loopback port that was free a moment ago, with nothing listening on it now. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Serves docs/relay/index.html at /relay/ on loopback, as a static host would. */
async function serveRelayPage(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (!req.url?.startsWith('/relay/')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(RELAY_HTML);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
