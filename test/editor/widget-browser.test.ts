import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { DEVICE_CODE_GRANT, startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { freePort, packageRoot, prepareUserDir, spawnNodeRed } from '../../scripts/node-red-home.js';

/**
 * The Dashboard 2.0 widget `ui-account-link` in a real Node-RED with the real
 * @flowfuse/node-red-dashboard, driven by headless Chromium: the page shows the code, turns to
 * "Linked as …" by itself, refreshes, and revokes after a confirmation; nothing secret reaches the
 * page. Then a Node-RED without Dashboard 2.0: the package still works, the widget node says what it
 * needs and its dialog says what to install. Screenshots go to test-artifacts/editor (or
 * ACCOUNT_LINK_SHOTS=<dir>; the README's docs/images/widget.png and widget-linked.png come from
 * here).
 */

const shots = process.env.ACCOUNT_LINK_SHOTS || path.join(packageRoot, 'test-artifacts', 'editor');

interface RunningNodeRed {
  base: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** Node-RED on a fresh user directory holding this package (and whatever else Node-RED finds beside itself). */
async function startNodeRed(flows: object[], extraSettings: Record<string, unknown> = {}): Promise<RunningNodeRed> {
  const userDir = mkdtempSync(path.join(os.tmpdir(), 'account-link-widget-'));
  const port = await freePort();
  const settingsFile = prepareUserDir(userDir, {
    uiPort: port, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: 'widget-test',
    telemetry: { enabled: false }, editorTheme: { tours: false, palette: { catalogues: [] } }, logging: { console: { level: 'info' } },
    accountLink: { mdns: false }, ...extraSettings,
  });
  // As `npm install` leaves it: Dashboard reads this to find third-party widgets.
  writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({
    name: 'node-red-project', dependencies: { 'node-red-contrib-account-link': '*', '@flowfuse/node-red-dashboard': '*' },
  }));
  writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const red: ChildProcess = spawnNodeRed(userDir, settingsFile, 'pipe');
  let log = '';
  red.stdout!.on('data', (chunk) => (log += chunk));
  red.stderr!.on('data', (chunk) => (log += chunk));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; !/Started flows/.test(log); i++) {
    if (i > 1200 || red.exitCode !== null) throw new Error(`Node-RED did not start:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    base,
    log: () => log,
    stop: async () => {
      if (red.exitCode === null) {
        const exited = new Promise((resolve) => red.once('exit', resolve));
        red.kill('SIGINT');
        await exited;
      }
      rmSync(userDir, { recursive: true, force: true });
    },
  };
}

/** A screenshot of the page, or of the one element `selector` finds (the widget's group card). */
async function shot(page: Page, name: string, selector?: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  const file = path.join(shots, `${name}.png`);
  await (selector ? page.locator(selector).screenshot({ path: file }) : page.screenshot({ path: file }));
}

function accountNode(provider: TestProvider): object {
  return {
    id: 'acc1', type: 'account-link', name: 'Living room', link: 'living-room', provider: 'oidc', issuer: provider.issuer,
    clientId: provider.clientId, scope: 'openid profile offline_access', flow: 'auto', mqtt: '', language: '',
  };
}

/** What the flow saw leave the widget's output: `<action>:<state>` per press (the function node keeps them in global context). */
async function presses(base: string): Promise<string[]> {
  const response = await fetch(`${base}/context/global/presses`);
  const body = (await response.json()) as { msg?: string };
  return body.msg ? (JSON.parse(body.msg) as string[]) : [];
}

describe('Dashboard 2.0 widget in headless Chromium', function () {
  this.timeout(180_000);
  let provider: TestProvider;
  let browser: Browser | undefined;

  before(async function () {
    if (chromiumMissing()) this.skip();
    assert.ok(existsSync(path.join(packageRoot, 'resources/ui-account-link.umd.js')), 'run npm run build first (it builds the widget with Vite)');
    provider = await startTestProvider({ stateRefreshLifetime: 'refresh_token_expires_in', refreshTokenTtl: 30 * 24 * 3600 });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await provider?.close();
  });

  describe('with @flowfuse/node-red-dashboard', () => {
    let red: RunningNodeRed;

    before(async () => {
      red = await startNodeRed([
        { id: 'tab1', type: 'tab', label: 'Flow 1' },
        { id: 'base1', type: 'ui-base', name: 'Home', path: '/dashboard', includeClientData: true, acceptsClientConfig: ['ui-notification', 'ui-control'], showPathInSidebar: false, navigationStyle: 'default', titleBarStyle: 'default' },
        { id: 'theme1', type: 'ui-theme', name: 'Default', colors: { surface: '#fcfcfd', primary: '#0d74ce', bgPage: '#f9f9fb', groupBg: '#ffffff', groupOutline: '#d9d9e0' }, sizes: { density: 'default', pagePadding: '12px', groupGap: '12px', groupBorderRadius: '4px', widgetGap: '12px' } },
        { id: 'page1', type: 'ui-page', name: 'Accounts', ui: 'base1', path: '/accounts', icon: 'home', layout: 'grid', theme: 'theme1', order: 1, className: '', visible: 'true', disabled: 'false' },
        { id: 'group1', type: 'ui-group', name: 'Music', page: 'page1', width: '6', height: '1', order: 1, showTitle: true, className: '', visible: 'true', disabled: 'false', groupType: 'default' },
        accountNode(provider),
        { id: 'widget1', type: 'ui-account-link', z: 'tab1', group: 'group1', account: 'acc1', name: '', order: 1, width: 6, height: 0, language: '', x: 200, y: 100, wires: [['presses']] },
        {
          id: 'presses', type: 'function', z: 'tab1', name: 'presses', outputs: 0, x: 400, y: 100, wires: [],
          func: "const seen = global.get('presses') || []; seen.push(msg.action + ':' + msg.payload.state); global.set('presses', seen);",
        },
      ]);
    });

    after(async () => {
      await red?.stop();
    });

    it('shows the code, turns to "Linked as …" live, refreshes, and revokes after confirming', async () => {
      const { base } = red;
      const context = await browser!.newContext({ viewport: { width: 900, height: 640 }, locale: 'en-US' });
      const page = await context.newPage();
      const errors: string[] = [];
      const consoleLines: string[] = [];
      const received: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (message) => consoleLines.push(message.text()));
      page.on('websocket', (socket) => socket.on('framereceived', ({ payload }) => received.push(String(payload))));
      page.on('response', (response) => {
        if (response.url().includes('/socket.io/')) void response.text().then((text) => received.push(text), () => undefined);
      });

      await page.goto(`${base}/dashboard/accounts`);
      await page.waitForSelector('.ui-account-link .ual-state', { timeout: 60_000 });
      assert.equal((await page.textContent('.ual-title'))!.trim(), 'Living room', "the account-link node's name");
      assert.equal((await page.textContent('.ual-state'))!.trim(), 'Not linked');
      assert.deepEqual(await page.$$eval('.ui-account-link .ual-buttons .v-btn', (els) => els.map((el) => el.textContent!.trim())), ['Link account']);

      await page.click('.ual-start');
      await page.waitForSelector('.ual-code');
      const code = (await page.textContent('.ual-code'))!.trim();
      assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
      assert.equal((await page.textContent('.ual-state'))!.trim(), 'Waiting for approval');
      await page.waitForFunction(() => (document.querySelector('.ual-qr') as HTMLImageElement | null)?.naturalWidth! > 0);
      await page.waitForFunction(() => /The code expires in \d+:\d\d\./.test(document.querySelector('.ual-countdown')?.textContent ?? ''));
      const pending = (await (await fetch(`${base}/account-link/acc1`)).json()) as { user_code: string; user_code_spoken?: string };
      assert.equal(pending.user_code, code);
      // The spelled code comes with the spoken-codes feature: the button is there exactly when the snapshot has it.
      assert.equal(await page.locator('.ual-spell').count(), pending.user_code_spoken ? 1 : 0);
      if (pending.user_code_spoken) {
        await page.click('.ual-spell');
        assert.equal((await page.textContent('.ual-spoken'))!.trim(), pending.user_code_spoken);
      }
      await shot(page, 'widget', '.nrdb-ui-group');

      await provider.approveDevice(code);
      await page.waitForFunction(() => document.querySelector('.ual-account')?.textContent?.trim() === 'Linked as Alice', null, { timeout: 20_000 });
      assert.equal((await page.textContent('.ual-state'))!.trim(), 'Linked');
      assert.equal(await page.$('.ual-code'), null, 'the code is gone once linked');
      assert.equal(await page.$('.ual-qr'), null, 'the QR is gone once linked');
      const linked = (await (await fetch(`${base}/account-link/acc1`)).json()) as { refresh_expires_at: string };
      assert.ok(linked.refresh_expires_at, 'the provider announced when the grant ends');
      const relinkBy = new Date(linked.refresh_expires_at).toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric' });
      assert.equal((await page.textContent('.ual-relink-by'))!.trim(), `The provider ends this link on ${relinkBy}; link again before then.`);
      assert.deepEqual(await page.$$eval('.ui-account-link .ual-buttons .v-btn', (els) => els.map((el) => el.textContent!.trim())), ['Relink', 'Refresh now', 'Revoke']);
      await shot(page, 'widget-linked', '.nrdb-ui-group');

      const refreshesBefore = provider.count('refresh_token');
      await page.click('.ual-refresh');
      for (let i = 0; (await presses(base)).length < 2; i++) {
        assert.ok(i < 200, 'the refresh press reached the flow');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Pressed within 10 s of the token call that linked it: answered from the snapshot, no call (issue 10's spacing).
      assert.equal(provider.count('refresh_token'), refreshesBefore);

      // Revoke asks first: "Keep" leaves the link alone.
      await page.click('.ual-revoke');
      assert.equal((await page.textContent('.ual-confirm > div'))!.trim(), 'Revoke the link to Alice? The hub forgets its tokens and flows using this account stop working until it is linked again.');
      await page.click('.ual-keep');
      assert.equal(await page.$('.ual-confirm'), null);
      assert.equal((await page.textContent('.ual-state'))!.trim(), 'Linked');
      await page.click('.ual-revoke');
      await page.click('.ual-confirm-revoke');
      await page.waitForFunction(() => document.querySelector('.ual-state')?.textContent?.trim() === 'Not linked');
      assert.equal(await page.$('.ual-account'), null);
      assert.ok(await page.isVisible('.ual-start'));
      assert.equal(((await (await fetch(`${base}/account-link/acc1`)).json()) as { state: string }).state, 'unlinked');
      for (let i = 0; (await presses(base)).length < 3; i++) {
        assert.ok(i < 200, 'the revoke press reached the flow');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(await presses(base), ['start:pending', 'refresh:linked', 'revoke:unlinked']);

      // Only snapshots reached the page: no device code the provider saw, and no token the revoke handed back.
      const secrets = [
        ...provider.requests.filter((r) => r.grantType === DEVICE_CODE_GRANT || r.grantType === 'refresh_token').map((r) => r.presented!),
        ...provider.revoked,
      ];
      assert.ok(secrets.length >= 2 && received.length > 5, `${secrets.length} secrets, ${received.length} frames`);
      for (const frame of received) {
        for (const secret of secrets) assert.ok(!frame.includes(secret), 'a device code or refresh token reached the page');
        assert.doesNotMatch(frame, /access_token|refresh_token|client_secret|device_code/);
      }
      assert.deepEqual(errors, []);
      assert.deepEqual(consoleLines.filter((line) => /No Vue component|ui-account-link/.test(line)), []);
      assert.doesNotMatch(red.log(), /ui-account-link.*(TypeError|ReferenceError|Error:)/);
      await context.close();
    });

    it("speaks the viewer's browser language", async () => {
      const context = await browser!.newContext({ viewport: { width: 900, height: 640 }, locale: 'de-DE' });
      const page = await context.newPage();
      await page.goto(`${red.base}/dashboard/accounts`);
      await page.waitForSelector('.ui-account-link .ual-state', { timeout: 60_000 });
      assert.equal((await page.textContent('.ual-state'))!.trim(), 'Nicht verknüpft');
      assert.equal((await page.textContent('.ual-start'))!.trim(), 'Konto verknüpfen');
      await context.close();
    });

    it('has a dialog with the group and size fields Dashboard 2.0 provides', async () => {
      const context = await browser!.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${red.base}/`);
      await page.waitForFunction(() => (window as any).RED?.nodes?.node('widget1') && (window as any).RED.nodes.getType('ui-group'), null, { timeout: 60_000 });
      // The link's badge, in words from account-link.json (another node set's catalog).
      await page.waitForFunction(() => (window as any).RED.nodes.node('widget1').status?.text === 'unlinked');
      await page.evaluate(() => (window as any).RED.editor.edit((window as any).RED.nodes.node('widget1')));
      await page.waitForSelector('#node-input-size:visible');
      assert.ok(!(await page.isVisible('#node-input-ui-account-link-no-dashboard')));
      assert.equal(await page.inputValue('#node-input-group'), 'group1');
      assert.equal(await page.inputValue('#node-input-account'), 'acc1');
      await page.click('#node-dialog-cancel');
      assert.deepEqual(errors, []);
      await context.close();
    });
  });

  describe('without Dashboard 2.0', () => {
    let red: RunningNodeRed;

    before(async () => {
      red = await startNodeRed(
        [
          { id: 'tab1', type: 'tab', label: 'Flow 1' },
          accountNode(provider),
          { id: 'widget1', type: 'ui-account-link', z: 'tab1', group: '', account: 'acc1', name: '', order: 0, width: 0, height: 0, language: '', x: 200, y: 100, wires: [[]] },
        ],
        { nodesExcludes: ['node-red-dashboard'] },
      );
    });

    after(async () => {
      await red?.stop();
    });

    it('keeps the package working; the node and its dialog say what it needs', async () => {
      const { base } = red;
      assert.doesNotMatch(red.log(), /Dashboard 2\.0 \(v/, 'Dashboard 2.0 is not loaded');
      assert.match(red.log(), /\[ui-account-link:widget1\] This ui-account-link node needs a Dashboard 2\.0 group: install @flowfuse\/node-red-dashboard/);
      assert.equal(((await (await fetch(`${base}/account-link/acc1`)).json()) as { state: string }).state, 'unlinked', 'the account-link node runs');

      const context = await browser!.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${base}/`);
      await page.waitForFunction(() => (window as any).RED?.nodes?.node('widget1'), null, { timeout: 60_000 });
      await page.waitForFunction(() => (window as any).RED.nodes.node('widget1').status?.text === 'needs Dashboard 2.0');
      await page.evaluate(() => (window as any).RED.editor.edit((window as any).RED.nodes.node('widget1')));
      await page.waitForSelector('#node-input-ui-account-link-no-dashboard:visible');
      assert.match((await page.textContent("#node-input-ui-account-link-no-dashboard"))!, /Install @flowfuse\/node-red-dashboard/);
      assert.ok(!(await page.isVisible('#node-input-group')), 'no group field without Dashboard 2.0');
      await shot(page, 'widget-no-dashboard');
      await page.click('#node-dialog-cancel');
      assert.deepEqual(errors, []);
      await context.close();
    });
  });
});
