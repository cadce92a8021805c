import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import table from './home-hosts.json';

const RELAY_HTML = readFileSync(path.resolve(__dirname, '../../docs/relay/index.html'), 'utf8');

type Verdict = 'allowed' | 'refused';

/**
 * home-hosts.json is the one rule for where the relay page may forward an answer (and for the hub:
 * test/core/home-network.test.ts). This runs the
 * shipped page itself, not a copy of its rule, because the copy is what drifted before (bug 5).
 */
describe('web: the shipped relay page forwards exactly to the hosts home-hosts.json allows', function () {
  this.timeout(120_000);
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let relay: Server;
  let relayOrigin: string;
  /** Every request that left the relay page, answered here so nothing reaches the network. */
  let forwarded: URL[] = [];

  before(async function () {
    if (chromiumMissing()) this.skip();
    browser = await launchChromium();
    relay = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(RELAY_HTML));
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    relayOrigin = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    context = await browser.newContext();
    await context.route(
      (url) => url.origin !== relayOrigin,
      (route) => {
        // Only navigations are the page's doing; a favicon fetch for the arrival page is Chromium's.
        if (!route.request().isNavigationRequest()) return route.fulfill({ status: 404 });
        forwarded.push(new URL(route.request().url()));
        return route.fulfill({ status: 200, contentType: 'text/html', body: '<html data-relay="arrived"></html>' });
      },
    );
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    relay?.closeAllConnections();
    await new Promise<void>((resolve) => (relay ? relay.close(() => resolve()) : resolve()));
  });

  /** Opens the relay page as the provider would, with a state naming `hub`; what did the page do? */
  async function relayTo(hub: string): Promise<{ verdict: Verdict; to: URL | undefined }> {
    forwarded = [];
    const state = `${Buffer.from(JSON.stringify({ v: 1, a: 'attempt', n: 'nonce', h: hub })).toString('base64url')}.signature`;
    // A forwarding page navigates away while loading, which may interrupt goto: the outcome is read below.
    await page.goto(`${relayOrigin}/relay/?code=the-code&state=${state}`).catch(() => undefined);
    await page.waitForFunction(() => ['refused', 'arrived'].includes(document.documentElement.getAttribute('data-relay') ?? ''));
    const to = forwarded[0];
    return { verdict: to ? 'allowed' : 'refused', to };
  }

  // A page cannot look a name up, so a host that stands by its addresses is refused here.
  const onThePage = (verdict: string): Verdict => (verdict === 'allowed' ? 'allowed' : 'refused');
  const cases: [string, Verdict][] = [
    ...Object.entries(table.hosts).map(([host, verdict]): [string, Verdict] => [`http://${host}:1880/link/callback`, onThePage(verdict)]),
    ...Object.entries(table.urls).map(([url, verdict]): [string, Verdict] => [url, verdict as Verdict]),
  ];

  it(`agrees with every row of home-hosts.json (${cases.length} addresses)`, async () => {
    const wrong: string[] = [];
    for (const [hub, expected] of cases) {
      const { verdict, to } = await relayTo(hub);
      if (verdict !== expected) wrong.push(`${hub}: ${verdict}, expected ${expected}${to ? ` (went to ${to.host})` : ''}`);
      if (to) {
        assert.equal(forwarded.length, 1, `${hub}: one request`);
        assert.equal(to.pathname, '/link/callback', hub);
        assert.equal(to.searchParams.get('code'), 'the-code', hub);
        assert.equal(to.username + to.password, '', hub);
      }
    }
    assert.ok(wrong.length === 0, `the relay page disagrees with home-hosts.json:\n${wrong.join('\n')}`);
  });

  it('shows why it refused, and answers the hub with code and state when it forwards', async () => {
    const refused = await relayTo('http://[fe80::1]:1880/link/callback');
    assert.equal(refused.verdict, 'refused');
    assert.match((await page.textContent('#message'))!, /\[fe80::1\]:1880, which is not on a home network/);
    const allowed = await relayTo('http://192.168.1.2:1880/link/callback');
    assert.equal(allowed.to?.origin, 'http://192.168.1.2:1880');
    assert.ok(allowed.to?.searchParams.get('state')?.endsWith('.signature'));
  });
});
