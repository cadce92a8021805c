import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { TokenStore, type StoredLink } from '../../src/core/index.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { openPage, shotsDir, startNodeRed, type RunningNodeRed } from '../helpers/editor-red.js';

/**
 * The "Accounts" sidebar tab in a real Node-RED under adminAuth, driven by headless Chromium: every
 * account-link node with its state, account, expiry, last refresh, last error and the Spotify people
 * count; Link shows the code and turns into "Linked" by itself; a sixth Spotify person is warned
 * first; Revoke asks and unlinks. A reader sees everything and can press nothing, and the admin
 * routes refuse a reader's actions. Its screenshot sidebar.png is the README's
 * (`ACCOUNT_LINK_SHOTS=docs/images` writes it there; by default it goes to test-artifacts/editor).
 */

const root = path.resolve(__dirname, '../..');
const PASSWORD = 'sidebar-test-pass';
/** bcrypt of PASSWORD, as `node-red admin hash-pw` makes it. */
const PASSWORD_HASH = '$2b$08$3gCLHqU95TwWvK9zt7EYWehpuCQU3b266XXV7N2y68t00RDwpZ8Na';
const SPOTIFY_APP = 'household-spotify-app';
const SPOTIFY_PEOPLE = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin'];

interface Tokens {
  access_token: string;
  expires_in: number;
  token_type: string;
}

describe('the Accounts sidebar in headless Chromium (adminAuth)', function () {
  this.timeout(240_000);
  let provider: TestProvider;
  let red: RunningNodeRed | undefined;
  let browser: Browser | undefined;
  let base: string;
  const tokens: Record<'admin' | 'reader', Tokens | undefined> = { admin: undefined, reader: undefined };

  async function login(username: 'admin' | 'reader'): Promise<Tokens> {
    const response = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'node-red-editor', grant_type: 'password', scope: username === 'admin' ? '*' : 'read', username, password: PASSWORD }),
    });
    assert.equal(response.status, 200, `login ${username}`);
    return (await response.json()) as Tokens;
  }

  async function admin(method: 'GET' | 'POST', route: string, who: 'admin' | 'reader' | null): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = who ? { authorization: `Bearer ${tokens[who]!.access_token}` } : {};
    const response = await fetch(`${base}/${route}`, { method, headers });
    const text = await response.text();
    return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  }

  before(async function () {
    if (chromiumMissing()) this.skip();
    assert.ok(existsSync(path.join(root, 'dist/nodes/account-link-sidebar.html')), 'run npm run build first');
    provider = await startTestProvider({});
    // Five people linked with one Spotify app (one of them needing to link again), a sixth not yet.
    const seeded = new Map<string, StoredLink>();
    const now = Date.now();
    const flows: Record<string, unknown>[] = [
      { id: 'tab1', type: 'tab', label: 'Flow 1' },
      {
        id: 'acc-demo', type: 'account-link', name: 'Demo sign-in', link: 'demo', provider: 'oidc', issuer: provider.issuer,
        clientId: provider.clientId, scope: 'openid profile offline_access', flow: 'auto', mqtt: '', language: '',
      },
    ];
    for (const [i, person] of [...SPOTIFY_PEOPLE, 'Frank'].entries()) {
      const id = `spotify${i + 1}`;
      flows.push({ id, type: 'account-link', name: `${person}’s Spotify`, link: `${person.toLowerCase()}-spotify`, provider: 'spotify', clientId: SPOTIFY_APP, flow: 'auto', mqtt: '' });
      if (person === 'Frank') continue;
      const record: StoredLink = {
        tokens: {
          accessToken: `seeded-access-${person}`, tokenType: 'Bearer', expiresAt: now + 3_600_000, refreshToken: `seeded-refresh-${person}`,
          scope: 'user-read-playback-state', obtainedAt: now - 600_000, refreshExpiresAt: now + 170 * 86_400_000,
        },
        account: { id: person.toLowerCase(), name: person },
        problem: person === 'Dave' ? { code: 'invalid_grant', message: 'Spotify no longer accepts this link. Link the account again.' } : null,
      };
      seeded.set(id, record);
    }
    const seed = async (userDir: string): Promise<void> => {
      const store = await TokenStore.open(path.join(userDir, 'account-link'));
      for (const [id, record] of seeded) await store.write(id, record);
    };
    const adminAuth = {
      type: 'credentials',
      users: [
        { username: 'admin', password: PASSWORD_HASH, permissions: '*' },
        { username: 'reader', password: PASSWORD_HASH, permissions: 'read' },
      ],
    };
    const ready = async (url: string): Promise<boolean> => {
      base = url;
      if (!(await fetch(`${url}/auth/login`)).ok) return false;
      tokens.admin ??= await login('admin');
      return (await admin('GET', 'account-link/links', 'admin')).body?.length === 7;
    };
    red = await startNodeRed(flows, { credentialSecret: 'sidebar-test', adminAuth }, ready, seed);
    tokens.reader = await login('reader');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
    await provider?.close();
  });

  /** The editor logged in as `who`, with the Accounts tab open. */
  async function openSidebar(who: 'admin' | 'reader'): Promise<{ page: Page; errors: string[] }> {
    const { page, errors } = await openPage(browser!, `${base}/`, { viewport: { width: 1500, height: 1250 }, locale: 'en-US' }, {
      'auth-tokens': JSON.stringify(tokens[who]),
    });
    await page.waitForFunction(() => (window as any).RED?.nodes?.node('spotify6') && (window as any).RED.accountLink, null, { timeout: 30_000 });
    await page.evaluate(() => (window as any).RED.sidebar.show('account-link-accounts'));
    // Wider, as a person would drag it to read the cards.
    const separator = (await page.locator('#red-ui-sidebar-separator').boundingBox())!;
    await page.mouse.move(separator.x + separator.width / 2, separator.y + 200);
    await page.mouse.down();
    await page.mouse.move(separator.x - 160, separator.y + 200, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => document.querySelectorAll('.account-link-card .account-link-panel-state.account-link-state-linked').length >= 4);
    return { page, errors };
  }

  const card = (slug: string): string => `.account-link-card[data-link="${slug}"]`;

  async function cardText(page: Page, slug: string): Promise<string> {
    return (await page.innerText(card(slug))).replace(/\s+/g, ' ').trim();
  }

  async function badge(page: Page, slug: string): Promise<string> {
    return (await page.textContent(`${card(slug)} .account-link-panel-state`))!.trim();
  }

  async function waitForBadge(page: Page, slug: string, text: string): Promise<void> {
    await page.waitForFunction(
      ([selector, wanted]) => document.querySelector(selector!)?.textContent?.trim() === wanted,
      [`${card(slug)} .account-link-panel-state`, text],
      { timeout: 20_000 },
    );
  }

  it('lists every account, links live, warns before a sixth Spotify person, and revokes', async () => {
    const { page, errors } = await openSidebar('admin');
    const slugs = await page.$$eval('.account-link-card', (els) => els.map((el) => el.getAttribute('data-link')));
    assert.deepEqual(slugs, ['alice-spotify', 'bob-spotify', 'carol-spotify', 'dave-spotify', 'demo', 'erin-spotify', 'frank-spotify'], 'every node, by name');

    const alice = await cardText(page, 'alice-spotify');
    for (const part of ['Alice’s Spotify', 'Linked', 'Spotify · alice-spotify', 'Account Alice', 'Token expires', 'Link ends', 'Last refresh', 'Last error —']) {
      assert.ok(alice.includes(part), `alice's card shows "${part}": ${alice}`);
    }
    assert.ok(alice.includes('5 of 5 people linked with this app (development mode)'), alice);
    assert.equal(await badge(page, 'dave-spotify'), 'Needs to be linked again');
    assert.match(await cardText(page, 'dave-spotify'), /Last error The provider no longer accepts this link/);
    assert.equal(await page.getAttribute(`${card('alice-spotify')} .account-link-act-manage`, 'href'), 'https://www.spotify.com/account/apps/');
    assert.equal(await page.$(`${card('demo')} .account-link-act-manage`), null, 'no apps page for a generic provider');
    assert.equal(await page.isVisible('.account-link-sidebar-note'), false, 'an admin gets no read-only note');

    // Link through the sidebar: the code shows on the card, and approval elsewhere turns it to Linked by itself.
    assert.equal(await badge(page, 'demo'), 'Not linked');
    await page.click(`${card('demo')} .account-link-act-start`);
    await page.waitForSelector(`${card('demo')} .account-link-card-code strong`);
    const code = (await page.textContent(`${card('demo')} .account-link-card-code strong`))!.trim();
    assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(await badge(page, 'demo'), 'Waiting for approval');
    await provider.approveDevice(code);
    await waitForBadge(page, 'demo', 'Linked');
    assert.match(await cardText(page, 'demo'), /Account Alice/);
    await page.evaluate(() => document.querySelector('.account-link-sidebar')!.scrollTo(0, 0));
    const sidebar = page.locator('#red-ui-sidebar');
    await sidebar.screenshot({ path: path.join(shotsDir(), 'sidebar.png') });

    // Frank would be the sixth person with this Spotify app: asked first, and nothing starts on Cancel.
    await page.click(`${card('frank-spotify')} .account-link-act-start`);
    await page.waitForSelector('.red-ui-notification button.primary');
    const warning = (await page.textContent('.red-ui-notification'))!.replace(/\s+/g, ' ');
    assert.match(warning, /5 of 5 people are already linked with this app\. In development mode Spotify refuses anyone else/);
    await page.click('.red-ui-notification button:not(.primary)');
    assert.equal((await admin('GET', 'account-link/spotify6', 'admin')).body.state, 'unlinked', 'Cancel started nothing');
    await page.click(`${card('frank-spotify')} .account-link-act-start`);
    await page.click('.red-ui-notification button.primary');
    await page.waitForSelector(`${card('frank-spotify')} .account-link-card-code strong`);
    assert.match((await page.textContent(`${card('frank-spotify')} .account-link-card-code strong`))!, /^[A-Z]{4}-[A-Z]{4}$/);
    await page.click(`${card('frank-spotify')} .account-link-act-cancel`);
    await waitForBadge(page, 'frank-spotify', 'Not linked');

    // The config dialog says the same, and asks the same before a sixth person.
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'account-link', 'spotify6'));
    await page.waitForFunction(() => /5 of 5 people linked with this app \(development mode\)/.test(document.querySelector('#node-config-account-link-people')?.textContent ?? ''));
    await page.waitForSelector('#node-config-account-link-start:visible:enabled');
    await page.click('#node-config-account-link-start');
    assert.match((await page.textContent('.red-ui-notification'))!, /5 of 5 people are already linked with this app/);
    await page.click('.red-ui-notification button:not(.primary)');
    await page.click('#node-config-dialog-cancel');
    await page.waitForSelector('#node-config-account-link-panel', { state: 'detached' });
    assert.equal((await admin('GET', 'account-link/spotify6', 'admin')).body.state, 'unlinked');

    // Revoke asks, unlinks Erin, and every card of the app counts one person fewer.
    await page.click(`${card('erin-spotify')} .account-link-act-revoke`);
    assert.match((await page.textContent('.red-ui-notification'))!, /Revoke the link to Erin\?/);
    await page.click('.red-ui-notification button.primary');
    await page.waitForSelector('.red-ui-notification', { state: 'detached' });
    await waitForBadge(page, 'erin-spotify', 'Not linked');
    await page.waitForFunction((selector) => /4 of 5 people/.test(document.querySelector(selector)?.textContent ?? ''), `${card('alice-spotify')} .account-link-card-people`);
    // Now Frank is the fifth: no question.
    await page.click(`${card('frank-spotify')} .account-link-act-start`);
    await waitForBadge(page, 'frank-spotify', 'Waiting for approval');
    assert.equal(await page.$('.red-ui-notification button.primary'), null);
    await page.click(`${card('frank-spotify')} .account-link-act-cancel`);
    await waitForBadge(page, 'frank-spotify', 'Not linked');
    assert.deepEqual(errors, []);
  });

  it('shows a reader every account but no working button; the routes need read to list and write to act', async () => {
    const { page, errors } = await openSidebar('reader');
    assert.equal(await page.$$eval('.account-link-card', (els) => els.length), 7);
    assert.match((await page.textContent('.account-link-sidebar-note'))!, /need the account-link\.write permission/);
    const enabled = await page.$$eval('.account-link-card-buttons button', (buttons) => buttons.filter((b) => !(b as HTMLButtonElement).disabled).length);
    assert.equal(enabled, 0, 'no button works for a reader');
    assert.equal(await page.getAttribute(`${card('bob-spotify')} .account-link-act-manage`, 'href'), 'https://www.spotify.com/account/apps/', 'the provider page is still offered');

    const listed = await admin('GET', 'account-link/links', 'reader');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.length, 7);
    assert.equal((await admin('GET', 'account-link/apps', 'reader')).status, 200);
    assert.equal((await admin('POST', 'account-link/spotify2/revoke', 'reader')).status, 401, 'a reader cannot revoke');
    assert.equal((await admin('POST', 'account-link/spotify6/start', 'reader')).status, 401, 'a reader cannot start linking');
    assert.equal((await admin('GET', 'account-link/links', null)).status, 401, 'nobody unauthenticated sees the accounts');
    assert.equal((await admin('POST', 'account-link/spotify2/status', 'admin')).status, 200, 'write permission acts');
    assert.equal((await admin('GET', 'account-link/spotify2', 'admin')).body.state, 'linked', 'the reader changed nothing');

    // No secret of the seeded links in anything the editor was given.
    const everything = JSON.stringify(listed.body) + (await page.content());
    for (const person of SPOTIFY_PEOPLE) assert.ok(!everything.includes(`seeded-access-${person}`) && !everything.includes(`seeded-refresh-${person}`));
    assert.deepEqual(errors, []);
  });
});
