import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { openPage, shotsDir, startNodeRed, type RunningNodeRed } from '../helpers/editor-red.js';

/**
 * The editor in a real Node-RED (this package from dist/) driven by headless Chromium: the config
 * dialog renders, "Link account" shows code, QR and countdown and turns into "Linked as …" by
 * itself over RED.comms, revoke asks first, an undeployed node says "deploy first", and German
 * comes from the catalog. Screenshots go to test-artifacts/editor (or ACCOUNT_LINK_SHOTS=<dir>).
 */

const root = path.resolve(__dirname, '../..');

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(shotsDir(), `${name}.png`) });
}

/** The options of the config dialog's dropdowns whose text is wider than the dropdown shows. */
function cutOffOptions(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const measure = document.createElement('canvas').getContext('2d')!;
    const cut: string[] = [];
    for (const select of Array.from(document.querySelectorAll<HTMLSelectElement>('#node-config-input-provider, #node-config-input-flow, #node-config-input-language'))) {
      const style = getComputedStyle(select);
      measure.font = style.font;
      // What is left for the text beside the padding, the border and the arrow Chromium draws (about 20px).
      const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
      for (const option of Array.from(select.options)) if (measure.measureText(option.text).width > room) cut.push(option.text);
    }
    return cut;
  });
}

describe('editor in headless Chromium', function () {
  this.timeout(90_000);
  let provider: TestProvider;
  let red: RunningNodeRed | undefined;
  let browser: Browser | undefined;
  let base: string;

  before(async function () {
    if (chromiumMissing()) this.skip();
    assert.ok(existsSync(path.join(root, 'dist/nodes/account-link.html')), 'run npm run build first');
    provider = await startTestProvider({});
    const flows = [
      { id: 'tab1', type: 'tab', label: 'Flow 1' },
      {
        id: 'acc1', type: 'account-link', name: 'Demo account', link: 'demo', provider: 'oidc', issuer: provider.issuer,
        clientId: provider.clientId, scope: 'openid profile offline_access', flow: 'auto', mqtt: '', language: '',
      },
      { id: 'acc2', type: 'account-link', name: "Alice's Spotify", link: 'alice-spotify', provider: 'spotify', clientId: 'abc', flow: 'auto', mqtt: '' },
      { id: 'start1', type: 'account-link-start', z: 'tab1', name: '', account: 'acc1', x: 200, y: 100, wires: [[]] },
      { id: 'status1', type: 'account-link-status', z: 'tab1', name: '', account: 'acc1', watch: true, exposeToken: false, x: 200, y: 160, wires: [[]] },
    ];
    red = await startNodeRed(flows, { credentialSecret: 'editor-test' }, (url) => fetch(`${url}/account-link/acc1`).then((r) => r.ok));
    base = red.base;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
    await provider?.close();
  });

  async function openEditor(locale: string): Promise<{ page: Page; errors: string[] }> {
    const { page, errors } = await openPage(browser!, `${base}/`, { viewport: { width: 1400, height: 1000 }, locale });
    await page.waitForFunction(() => {
      const RED = (window as any).RED;
      return RED?.nodes?.getType('account-link') && RED.nodes.node('start1') && RED.nodes.node('acc1');
    }, null, { timeout: 30_000 });
    // Count comms (un)subscriptions so the test can see the dialog cleans up after itself.
    await page.evaluate(() => {
      const w = window as any;
      w.accountLinkComms = { subscribed: 0, unsubscribed: 0 };
      const { subscribe, unsubscribe } = w.RED.comms;
      w.RED.comms.subscribe = (topic: string, fn: unknown) => {
        if (topic.startsWith('account-link/')) w.accountLinkComms.subscribed++;
        return subscribe(topic, fn);
      };
      w.RED.comms.unsubscribe = (topic: string, fn: unknown) => {
        if (topic.startsWith('account-link/')) w.accountLinkComms.unsubscribed++;
        return unsubscribe(topic, fn);
      };
    });
    return { page, errors };
  }

  /** One English editor page for the first two tests: loading the editor is the slow part. */
  let english: Promise<{ page: Page; errors: string[] }> | undefined;
  const englishEditor = (): Promise<{ page: Page; errors: string[] }> => (english ??= openEditor('en-US'));

  async function editConfig(page: Page, id: string): Promise<void> {
    await page.evaluate((nodeId) => (window as any).RED.editor.editConfig('', 'account-link', nodeId), id);
    await page.waitForSelector('#node-config-account-link-panel');
  }

  async function closeConfig(page: Page): Promise<void> {
    await page.click('#node-config-dialog-cancel');
    await page.waitForSelector('#node-config-account-link-panel', { state: 'detached' });
  }

  it('shows the palette, links through the dialog, live-updates and revokes', async () => {
    const { page, errors } = await englishEditor();
    const palette = await page.$$eval('.red-ui-palette-node[data-palette-type^="account-link-"]', (els) =>
      els.map((el) => [el.getAttribute('data-palette-type'), el.textContent!.replace(/\s+/g, ' ').trim()]),
    );
    assert.deepEqual(new Map(palette as [string, string][]), new Map([
      ['account-link-start', 'account link'], ['account-link-status', 'account status'], ['account-link-refresh', 'account refresh'],
      ['account-link-revoke', 'account revoke'], ['account-link-request', 'request'],
    ]));
    const label = await page.evaluate(() => (window as any).RED.utils.getNodeLabel((window as any).RED.nodes.node('start1')));
    assert.equal(label, 'account link: Demo account');

    // Spotify: the exact redirect URI to register, with the loopback explanation.
    await editConfig(page, 'acc2');
    await page.waitForSelector('#node-config-account-link-redirect:visible');
    assert.equal(await page.textContent('#node-config-account-link-redirect-uri'), `${base}/link/callback`);
    assert.ok(await page.isVisible('.account-link-redirect-loopback'));
    assert.ok(!(await page.isVisible('.account-link-row-issuer')), 'no issuer field for a preset');
    assert.match((await page.textContent('#node-config-account-link-provider-hint'))!, /tick "Web API"/, 'the step the README also names');
    await shot(page, 'config-spotify');
    await page.fill('#node-config-input-publicUrl', 'https://hub.example.net');
    await page.waitForFunction(
      () => document.querySelector('#node-config-account-link-redirect-uri')?.textContent === 'https://hub.example.net/link/callback',
    );
    assert.ok(!(await page.isVisible('.account-link-redirect-loopback')), 'no loopback workaround with https');
    await closeConfig(page);

    await editConfig(page, 'acc1');
    await page.waitForSelector('#node-config-account-link-start:visible');
    assert.equal(await page.textContent('#node-config-account-link-state'), 'Not linked');
    assert.ok(await page.isVisible('.account-link-row-issuer'));
    // "automatic" with an issuer that has a device flow: no pairing page, so no redirect URI to register.
    await page.waitForSelector('#node-config-account-link-pairing', { state: 'hidden' });
    assert.ok(!(await page.isVisible('#node-config-account-link-redirect')));
    await page.click('#node-config-account-link-start');
    await page.waitForSelector('.account-link-code');
    const code = (await page.textContent('.account-link-code'))!.trim();
    assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
    await page.waitForFunction(() => (document.querySelector('#node-config-account-link-qr') as HTMLImageElement)?.naturalWidth > 0);
    await page.waitForFunction(() => /expires in \d+:\d\d/.test(document.querySelector('#node-config-account-link-countdown')?.textContent ?? ''));
    assert.ok(await page.isVisible('#node-config-account-link-cancel'));
    await shot(page, 'config-pending');

    await provider.approveDevice(code);
    await page.waitForFunction(() => document.querySelector('#node-config-account-link-state')?.textContent === 'Linked', null, { timeout: 20_000 });
    assert.match((await page.textContent('#node-config-account-link-body'))!, /Linked as Alice/);
    assert.equal(await page.$('#node-config-account-link-qr'), null, 'QR gone once linked');
    assert.equal((await page.textContent('#node-config-account-link-start-label'))!.trim(), 'Relink');
    assert.equal(await page.inputValue('#node-config-input-accountChange'), 'refuse', 'a node saved without the property refuses');
    await shot(page, 'config-linked');

    // "Link a different account": this one attempt may switch to Bob.
    await page.click('#node-config-account-link-replace');
    await page.waitForSelector('.account-link-code');
    assert.ok(!(await page.isVisible('#node-config-account-link-replace')), 'hidden while a code is shown');
    await provider.approveDevice((await page.textContent('.account-link-code'))!.trim(), { accountId: 'bob' });
    await page.waitForFunction(() => /Linked as Bob/.test(document.querySelector('#node-config-account-link-body')?.textContent ?? ''), null, {
      timeout: 20_000,
    });
    // "Refresh now" says that it worked: the expiry, shown to the minute, may not visibly move.
    const refreshes = provider.count('refresh_token');
    assert.equal(await page.$('#node-config-account-link-done'), null);
    await page.click('#node-config-account-link-refresh');
    await page.waitForSelector('#node-config-account-link-done');
    assert.match((await page.textContent('#node-config-account-link-done'))!, /^Access token renewed at \d{1,2}:\d\d:\d\d/);
    // Within 10 s of the sign-in's token call: answered with the tokens just obtained, no call (issue 10).
    assert.equal(provider.count('refresh_token'), refreshes);

    await page.click('#node-config-account-link-revoke');
    await page.click('.red-ui-notification button.primary');
    await page.waitForFunction(() => document.querySelector('#node-config-account-link-state')?.textContent === 'Not linked');
    await closeConfig(page);

    const comms = await page.evaluate(() => (window as any).accountLinkComms);
    assert.deepEqual(comms, { subscribed: 2, unsubscribed: 2 }, 'one subscription per dialog, dropped on close');
    assert.deepEqual(errors, []);
    assert.doesNotMatch(red!.log, /account-link.*(TypeError|ReferenceError)/);
  });

  it('palette labels say "account", a search for spotify or oauth finds the nodes, and dialog titles name them', async () => {
    const { page, errors } = await englishEditor();
    /** Types the text into the palette's search box and lists the node types left in view. */
    const found = async (text: string): Promise<string[]> => {
      await page.fill('#red-ui-palette-search input', '');
      await page.locator('#red-ui-palette-search input').pressSequentially(text);
      // The box filters after a short delay: wait until every node in view is one the filter keeps.
      await page.waitForFunction((t) => {
        const re = new RegExp(t.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&'), 'i');
        const shown = Array.from(document.querySelectorAll('.red-ui-palette-node')).filter((el) => (el as HTMLElement).offsetParent !== null);
        return shown.length > 0 && shown.every((el) => re.test(el.getAttribute('data-palette-type')!) || re.test(el.getAttribute('data-palette-label')!));
      }, text);
      return page.$$eval('.red-ui-palette-node', (els) =>
        els.filter((el) => (el as HTMLElement).offsetParent !== null).map((el) => el.getAttribute('data-palette-type')!).sort(),
      );
    };
    const ours = ['account-link-refresh', 'account-link-revoke', 'account-link-start', 'account-link-status'];
    assert.deepEqual(await found('spotify'), ours);
    assert.deepEqual(await found('OAuth'), ours);
    assert.deepEqual(await found('account'), ours);
    assert.ok(!(await found('link in')).some((type) => type.startsWith('account-link')), 'not mistaken for the core link nodes');
    await page.click('#red-ui-palette-search .red-ui-searchBox-clear');
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="inject"]:visible');

    await page.evaluate(() => (window as any).RED.editor.edit((window as any).RED.nodes.node('start1')));
    await page.waitForSelector('#node-input-account');
    assert.equal((await page.textContent('.red-ui-tray-titlebar'))!.trim(), 'Edit account link node');
    await page.click('#node-dialog-cancel');
    await editConfig(page, 'acc1');
    assert.match((await page.textContent('.red-ui-tray:last-child .red-ui-tray-titlebar'))!, /Edit linked account node/);
    await closeConfig(page);
    assert.deepEqual(errors, []);
  });

  it('asks to deploy a new node first and derives its link id from the name', async () => {
    const { page, errors } = await englishEditor();
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'account-link', '_ADD_'));
    await page.waitForSelector('#node-config-account-link-panel');
    await page.fill('#node-config-input-name', 'Bob’s GitHub Ünïcode');
    await page.selectOption('#node-config-input-provider', 'github');
    await page.waitForFunction(() => /Deploy first/.test(document.querySelector('#node-config-account-link-body')?.textContent ?? ''));
    assert.equal(await page.inputValue('#node-config-input-link'), 'bob-s-github-unicode');
    assert.equal(await page.inputValue('#node-config-input-scope'), 'read:user');
    assert.equal(await page.getAttribute('#node-config-input-deviceAuthorizationEndpoint', 'placeholder'), 'https://github.com/login/device/code');
    assert.ok(!(await page.isVisible('#node-config-account-link-pairing')), 'GitHub has a device flow: no hub address fields');
    assert.ok(await page.isDisabled('#node-config-account-link-start'));
    await shot(page, 'config-new');
    await closeConfig(page);

    await page.evaluate(() => (window as any).RED.editor.edit((window as any).RED.nodes.node('status1')));
    await page.waitForSelector('#node-input-exposeToken');
    assert.ok(!(await page.isVisible('#node-input-account-link-expose-warning')));
    await page.check('#node-input-exposeToken');
    assert.ok(await page.isVisible('#node-input-account-link-expose-warning'));
    await shot(page, 'status-node');
    await page.click('#node-dialog-cancel');
    const comms = await page.evaluate(() => (window as any).accountLinkComms);
    assert.equal(comms.subscribed, comms.unsubscribed);
    assert.deepEqual(errors, []);
  });

  it('keeps the newest snapshot when an admin reply arrives after a newer live push (bug 2)', async () => {
    const { page, errors } = await englishEditor();
    await editConfig(page, 'acc1');
    await page.waitForSelector('#node-config-account-link-start:visible');
    // Hold the reply to "Link account" (a pending snapshot) until the link has moved on.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let replied!: () => void;
    const replyHeld = new Promise<void>((resolve) => (replied = resolve));
    await page.route(`${base}/account-link/acc1/start`, async (route) => {
      const response = await route.fetch();
      replied();
      await released;
      await route.fulfill({ response });
    });
    try {
      await page.click('#node-config-account-link-start');
      await replyHeld;
      await page.waitForSelector('.account-link-code');
      // Someone else cancels (a flow, MQTT, another editor): the live push says "Not linked".
      assert.equal((await fetch(`${base}/account-link/acc1/cancel`, { method: 'POST' })).status, 200);
      await page.waitForFunction(() => document.querySelector('#node-config-account-link-state')?.textContent === 'Not linked');
      release();
      // The late reply ends the busy state: whichever of start or cancel shows is enabled again.
      await page.waitForSelector('#node-config-account-link-start:visible:enabled, #node-config-account-link-cancel:visible:enabled');
      assert.equal(await page.textContent('#node-config-account-link-state'), 'Not linked', 'the older reply was not shown');
      assert.equal(await page.$('.account-link-code'), null);
    } finally {
      release();
      await page.unroute(`${base}/account-link/acc1/start`);
    }
    await closeConfig(page);
    assert.deepEqual(errors, []);
  });

  it('speaks German when the browser does', async () => {
    const { page } = await openEditor('de-DE');
    await editConfig(page, 'acc1');
    await page.waitForSelector('#node-config-account-link-start:visible');
    assert.equal((await page.textContent('.account-link-panel-title'))!.trim(), 'Konto verknüpfen');
    assert.equal(await page.textContent('#node-config-account-link-state'), 'Nicht verknüpft');
    assert.equal((await page.textContent('label[for="node-config-input-provider"]'))!.trim(), 'Anbieter');
    assert.deepEqual(await cutOffOptions(page), [], 'every German option fits its dropdown');
    await shot(page, 'config-de');
  });

  it('shows every dropdown option whole', async () => {
    const { page } = await englishEditor();
    await editConfig(page, 'acc1');
    assert.deepEqual(await cutOffOptions(page), []);
    await closeConfig(page);
  });

  it('imports every example beside the others, as Import › Examples does, with no "already exist" conflict', async () => {
    const { page, errors } = await englishEditor();
    const dir = path.join(root, 'examples');
    const examples = readdirSync(dir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as object[]);
    assert.equal(examples.length, 7);
    const conflicts = await page.evaluate((flows) => {
      const RED = (window as any).RED;
      return flows.map((nodes) => {
        try {
          RED.view.importNodes(nodes, { generateIds: false });
          return null;
        } catch (err) {
          return (err as { code?: string }).code ?? String(err);
        }
      });
    }, examples);
    assert.deepEqual(conflicts, examples.map(() => null));
    assert.deepEqual(errors, []);
  });
});
