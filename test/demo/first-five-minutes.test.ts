import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { freePort } from '../../scripts/node-red-home.js';
import { DemoProcess } from '../helpers/demo-process.js';

/**
 * README "First five minutes", walked by a person in Chromium on what `npm start` deploys: the
 * editor on a laptop, the sign-in on a phone. Both accounts end "Linked as …", nothing pops up in
 * the way (Playwright refuses to click through anything covering the target), and the README's
 * screenshots are taken on the way: to test-artifacts/first-five-minutes, or to docs/images with
 * UPDATE_DOCS_IMAGES=1.
 */

const root = path.resolve(__dirname, '../..');
const shots = process.env.UPDATE_DOCS_IMAGES ? path.join(root, 'docs/images') : path.join(root, 'test-artifacts/first-five-minutes');

/** What `npm start` deploys, by node id (scripts/demo-flow.ts). */
const DEVICE = { account: 'demo-device-account', link: 'demo-device-inject-link', start: 'demo-device-start', refresh: 'demo-device-refresh' };
const PAIRING = { account: 'demo-pairing-account', link: 'demo-pairing-inject-link', start: 'demo-pairing-start' };

describe('README "First five minutes" in Chromium, on npm start', function () {
  this.timeout(300_000);
  const demo = new DemoProcess();
  let browser: Browser;
  let editor: Page;
  let phone: BrowserContext;
  const pageErrors: string[] = [];

  before(async function () {
    if (chromiumMissing()) this.skip();
    mkdirSync(shots, { recursive: true });
    // 1880 when it is free, so the pictures show the address a reader will see.
    await demo.start(await freePort(1880));
    browser = await launchChromium();
    const laptop = await browser.newContext({ viewport: { width: 1600, height: 900 }, locale: 'en-US' });
    editor = await laptop.newPage();
    editor.on('pageerror', (err) => pageErrors.push(err.message));
    phone = await newPhone();
  });

  /**
   * A phone of its own: its own cookies, so its owner is not signed in at the provider yet. The demo
   * server's pages ask for a web font this machine cannot reach: refused at once, unless `fonts`
   * (the page then waits for the lookup to fail, but keeps the protocol's interception to itself).
   */
  async function newPhone(options: { fonts?: boolean } = {}): Promise<BrowserContext> {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'en-US',
      userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
    });
    if (!options.fonts) await context.route(/^https:\/\/fonts\.(googleapis|gstatic)\.com\//, (route) => route.abort());
    return context;
  }

  after(async () => {
    await browser?.close();
    await demo.stop();
  });

  /** A picture for the README, once Node-RED's passing notices ("Successfully injected") are gone. */
  async function shot(page: Page, name: string, fullPage = false): Promise<void> {
    await page.waitForFunction(() => !Array.from(document.querySelectorAll('.red-ui-notification')).some((n) => (n as HTMLElement).offsetParent !== null));
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
  }

  /** The text under a node on the canvas, as a person reads it. */
  const badge = (id: string): Promise<string> => editor.evaluate((nodeId) => document.querySelector(`[id="${nodeId}"] .red-ui-flow-node-status-label`)?.textContent ?? '', id);

  async function waitForBadge(id: string, pattern: RegExp): Promise<RegExpMatchArray> {
    await editor.waitForFunction(
      ([nodeId, source]) => new RegExp(source).test(document.querySelector(`[id="${nodeId}"] .red-ui-flow-node-status-label`)?.textContent ?? ''),
      [id, pattern.source] as const,
      { timeout: 30_000 },
    );
    return pattern.exec(await badge(id))!;
  }

  /** Presses an inject node's button, the way a person starts linking in the demo. */
  async function press(injectId: string): Promise<void> {
    await editor.click(`[id="${injectId}"] .red-ui-flow-node-button-button`);
  }

  async function snapshot(account: string): Promise<Record<string, any>> {
    return (await (await fetch(`${demo.base}/account-link/${account}`)).json()) as Record<string, any>;
  }

  /**
   * Signs in on the demo server's pages (any name and password) and approves when it asks. The last
   * step leaves for the redirect URI, which may not load (the phone's own 127.0.0.1).
   */
  async function signIn(page: Page, name: string): Promise<void> {
    await page.waitForSelector('input[name="login"]');
    await page.fill('input[name="login"]', name);
    await page.fill('input[name="password"]', 'any password');
    await Promise.all([page.waitForNavigation().catch(() => undefined), page.click('button[type="submit"]')]);
    if (await page.$('input[name="prompt"][value="consent"]').catch(() => null)) {
      await Promise.all([page.waitForNavigation().catch(() => undefined), page.click('button[type="submit"]')]);
    }
  }

  it('opens the editor on the demo tab with nothing in the way, nodes apart and every wire running forward', async () => {
    await editor.goto(`${demo.base}/`);
    await editor.waitForFunction(() => (window as any).RED?.nodes?.node('demo-device-start')?.w > 0, null, { timeout: 60_000 });
    await editor.waitForSelector('#red-ui-loader', { state: 'hidden' });
    // The update-notification question and the welcome tour open right after loading.
    await editor.waitForTimeout(1500);
    assert.deepEqual(
      await editor.evaluate(() => ({
        dialogs: document.querySelectorAll('.red-ui-dialog').length,
        tour: document.querySelectorAll('.red-ui-tourGuide-shade').length,
        notifications: Array.from(document.querySelectorAll('.red-ui-notification')).map((n) => n.textContent),
      })),
      { dialogs: 0, tour: 0, notifications: [] },
    );

    // (No named functions in here: the test's compiler would wrap them in a helper the page lacks.)
    const layout = await editor.evaluate(() => {
      const RED = (window as any).RED;
      const nodes: any[] = [];
      RED.nodes.eachNode((n: any) => {
        if (n.z === 'account-link-demo') nodes.push(n);
      });
      const boxes = new Map(
        nodes.map((n) => [n.id, { id: n.id as string, left: n.x - n.w / 2, right: n.x + n.w / 2, top: n.y - n.h / 2, bottom: n.y + n.h / 2 }]),
      );
      const overlaps: string[] = [];
      for (const a of boxes.values()) {
        for (const b of boxes.values()) {
          if (a.id < b.id && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps.push(`${a.id} × ${b.id}`);
        }
      }
      const backwards: string[] = [];
      for (const n of nodes) {
        for (const target of (n.wires ?? []).flat()) {
          // A wire leaves the right edge and enters the left edge: it runs forward when there is room between.
          if (boxes.get(target)!.left - boxes.get(n.id)!.right < 20) backwards.push(`${n.id} → ${target}`);
        }
      }
      return { count: nodes.length, overlaps, backwards };
    });
    assert.ok(layout.count >= 20, `${layout.count} nodes on the demo tab`);
    assert.deepEqual(layout.overlaps, [], 'no two nodes overlap');
    assert.deepEqual(layout.backwards, [], 'no wire loops back');
    await shot(editor, 'first-1-editor');
  });

  it('links the first account by device code, on the provider’s own page: "Linked as Alice"', async () => {
    await press(DEVICE.link);
    const [, code] = await waitForBadge(DEVICE.start, /pending · ([A-Z]{4}-[A-Z]{4})/);
    const pending = await snapshot(DEVICE.account);
    assert.equal(pending.user_code, code);
    assert.equal(pending.prompt, `To link Demo (device code), open ${pending.verification_uri.replace(/^https?:\/\//, '')} and enter ${code}`);
    await editor.click('#red-ui-tab-debug-link-button');
    await editor.mouse.move(700, 750);
    await editor.waitForFunction((text) => document.querySelector('.red-ui-debug-content')?.textContent?.includes(text), pending.prompt);
    await shot(editor, 'first-2-device-code');

    const page = await phone.newPage();
    await page.goto(pending.verification_uri);
    await page.fill('input[name="user_code"]', code!);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.match(await page.textContent('body') ?? '', /Node-RED account link demo/, 'the app is named after the demo');
    await shot(page, 'first-3-device-confirm');
    await Promise.all([page.waitForNavigation(), page.click('button[autofocus]')]);
    await signIn(page, 'alice');
    await page.waitForFunction(() => /Sign-in Success/i.test(document.body.textContent ?? ''));
    await page.close();

    await waitForBadge(DEVICE.start, /^linked · Alice$/);
    await editor.evaluate((id) => (window as any).RED.editor.editConfig('', 'account-link', id), DEVICE.account);
    await editor.waitForSelector('#node-config-account-link-refresh:visible');
    assert.match(await editor.textContent('#node-config-account-link-body') ?? '', /Linked as Alice/);
    assert.ok(!(await editor.isVisible('#node-config-account-link-redirect')), 'a device-code account is not asked for a redirect URI');
    await editor.click('#node-config-account-link-refresh');
    await editor.waitForSelector('#node-config-account-link-done');
    await shot(editor, 'config-linked');
    await editor.click('#node-config-dialog-cancel');
  });

  it('links the second account through the hub’s pairing page, like Spotify: "Linked as Bob"', async () => {
    await press(PAIRING.link);
    const [, code] = await waitForBadge(PAIRING.start, /pending · ([A-Z]{4}-[A-Z]{4})/);
    await editor.evaluate((id) => (window as any).RED.editor.editConfig('', 'account-link', id), PAIRING.account);
    await editor.waitForSelector('.account-link-code');
    await editor.waitForFunction(() => (document.querySelector('#node-config-account-link-qr') as HTMLImageElement | null)?.naturalWidth);
    assert.equal((await editor.textContent('.account-link-code'))!.trim(), code);
    await shot(editor, 'config-pending');
    await editor.click('#node-config-dialog-cancel');

    const pending = await snapshot(PAIRING.account);
    // Bob's phone: not signed in at the provider (the first phone is Alice's).
    const bobsPhone = await newPhone();
    const page = await bobsPhone.newPage();
    await page.goto(pending.verification_uri);
    await shot(page, 'pairing-1-code-form', true);
    // A mistyped code: the error describes a code the way the field's hint does.
    const hint = (await page.textContent('.hint'))!;
    await page.fill('#user_code', 'ABCD-EFGH');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    const error = (await page.textContent('.error'))!;
    assert.ok(error.includes(hint.split(',')[0]!), `"${error}" describes the code as "${hint}" does`);

    await page.fill('#user_code', code!.replace('-', '').toLowerCase());
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    // What is being authorized, before the provider (RFC 8628 §5.4): one button on.
    assert.match((await page.textContent('h1'))!, /^Link your .+ account to this hub\?$/);
    await shot(page, 'pairing-1b-confirm', true);
    await continueToProvider(page);
    assert.ok(page.url().startsWith(demo.issuer), page.url());
    await shot(page, 'pairing-2-provider-sign-in', true);
    await signIn(page, 'bob');
    await page.waitForSelector('h1');
    assert.equal(await page.textContent('h1'), 'Linked as Bob');
    assert.match((await page.textContent('body'))!, /Demo \(pairing page\) is now linked/, 'the page names the link, not the issuer’s host');
    await shot(page, 'pairing-3-linked', true);
    await bobsPhone.close();
    await waitForBadge(PAIRING.start, /^linked · Bob$/);
  });

  it('practises the paste step: on a phone the loopback address does not load, pasted it links', async () => {
    await press(PAIRING.link);
    const [, code] = await waitForBadge(PAIRING.start, /pending · ([A-Z]{4}-[A-Z]{4})/);
    const pending = await snapshot(PAIRING.account);
    // Another phone, not signed in at the provider yet.
    const otherPhone = await newPhone({ fonts: true });
    const page = await otherPhone.newPage();
    // A phone's own 127.0.0.1 is not the hub: the provider's answer never arrives there. Playwright's
    // routes skip the hops of a redirect, so the DevTools protocol catches the last hop instead.
    const devtools = await otherPhone.newCDPSession(page);
    let endedOn = '';
    const ended = new Promise<void>((resolve) => {
      devtools.on('Fetch.requestPaused', (event) => {
        endedOn = event.request.url;
        void devtools.send('Fetch.failRequest', { requestId: event.requestId, errorReason: 'ConnectionRefused' }).then(() => resolve());
      });
    });
    await devtools.send('Fetch.enable', { patterns: [{ urlPattern: 'http://127.0.0.1:*/link/callback*', requestStage: 'Request' }] });
    await page.goto(pending.verification_uri);
    await page.fill('#user_code', code!);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    await continueToProvider(page);
    await signIn(page, 'bob');
    await ended;
    assert.match(endedOn, /\/link\/callback\?.*code=/, 'the phone ended on the loopback callback');

    // The person copies that address, opens the pairing page again and pastes it.
    const again = await otherPhone.newPage();
    await again.goto(pending.verification_uri);
    await again.fill('#url', endedOn);
    await shot(again, 'pairing-6-paste', true);
    await Promise.all([again.waitForNavigation(), again.click('#paste button[type="submit"]')]);
    assert.equal(await again.textContent('h1'), 'Linked as Bob');
    await otherPhone.close();
    await waitForBadge(PAIRING.start, /^linked · Bob$/);
  });

  it('shows what a real Spotify account needs: tick Web API, register the loopback redirect URI', async () => {
    await editor.evaluate(() => (window as any).RED.editor.editConfig('', 'account-link', '_ADD_'));
    await editor.waitForSelector('#node-config-account-link-panel');
    await editor.fill('#node-config-input-name', "Alice's Spotify");
    await editor.selectOption('#node-config-input-provider', 'spotify');
    await editor.fill('#node-config-input-clientId', '1f2e3d4c5b6a79880796a5b4c3d2e1f0');
    await editor.press('#node-config-input-clientId', 'Tab');
    await editor.waitForSelector('#node-config-account-link-redirect:visible');
    // From the provider's hints down to the redirect URI to register, as the README's step 2 reads.
    await editor.evaluate(() => document.querySelector('label[for="node-config-input-provider"]')!.scrollIntoView({ block: 'start' }));
    assert.match((await editor.textContent('#node-config-account-link-provider-hint'))!, /tick "Web API"/);
    assert.equal(await editor.textContent('#node-config-account-link-redirect-uri'), `http://127.0.0.1:${new URL(demo.base).port}/link/callback`);
    await shot(editor, 'config-spotify');
    await editor.click('#node-config-dialog-cancel');
    assert.deepEqual(pageErrors, []);
  });
});

/** Presses the confirmation page's one button, which leads on to the provider's sign-in. */
async function continueToProvider(page: Page): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/link/continue"] button[type="submit"]')]);
}

describe('README screenshots', () => {
  it('every picture the README shows is one a test takes (this walk, the pairing page, widget and sidebar tests)', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const shown = [...readme.matchAll(/\(docs\/images\/([\w-]+)\.png\)/g)].map((m) => m[1]!);
    const testFiles = (readdirSync(path.join(root, 'test'), { recursive: true }) as string[]).filter((file) => file.endsWith('.test.ts'));
    const taken = new Set(
      testFiles.flatMap((file) => {
        const text = readFileSync(path.join(root, 'test', file), 'utf8');
        return [...text.matchAll(/shot\([a-zA-Z]+, '([\w-]+)'/g), ...text.matchAll(/'([\w-]+)\.png'/g)].map((m) => m[1]!);
      }),
    );
    assert.ok(shown.length >= 10, `${shown.length} pictures in the README`);
    assert.deepEqual(shown.filter((name) => !taken.has(name)), []);
  });
});
