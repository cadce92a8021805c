import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultRedirectUri, loopbackRedirectUri } from '../../src/core/index.js';
import { defaultPublicUrl } from '../../src/web/index.js';
import { freePort } from '../../scripts/node-red-home.js';
import { DemoProcess } from '../helpers/demo-process.js';
import { until } from '../helpers/until.js';

/**
 * `npm start` as a new user meets it: a real process with its own Node-RED, broker and demo sign-in
 * server. What the browser sees of it is test/demo/first-five-minutes.test.ts.
 */
describe('npm start (a real process)', function () {
  this.timeout(120_000);
  const demo = new DemoProcess();
  let port = 0;
  let answeredAtOnce: boolean | undefined;

  before(async () => {
    port = await freePort();
    await demo.start(port);
    // At the moment the address is printed, the editor must already answer.
    answeredAtOnce = await fetch(`${demo.base}/`).then((response) => response.ok, () => false);
  });
  after(() => demo.stop());

  it('prints the editor address only once the editor answers', () => {
    assert.equal(demo.base, `http://127.0.0.1:${port}`);
    assert.equal(answeredAtOnce, true, 'the editor answered the moment its address was printed');
  });

  it('deploys two accounts: one links by device code, one by the hub pairing page like Spotify', async () => {
    const flows = JSON.parse(readFileSync(path.join(demo.userDir, 'flows.json'), 'utf8')) as Record<string, any>[];
    const accounts = flows.filter((n) => n.type === 'account-link');
    assert.deepEqual(
      accounts.map((a) => [a.name, a.flow, a.redirectUri]),
      [
        ['Demo (device code)', 'auto', ''],
        ['Demo (pairing page)', 'pairing', loopbackRedirectUri(port)],
      ],
    );
    const started = await fetch(`${demo.base}/account-link/demo-device-account/start`, { method: 'POST' });
    const pending = ((await started.json()) as { data: Record<string, string> }).data;
    assert.equal(pending.state, 'pending');
    const host = new URL(demo.issuer).host;
    assert.equal(pending.prompt, `To link Demo (device code), open ${host}/device and enter ${pending.user_code}`, 'the link’s name, not the issuer’s host');

    const pairing = ((await (await fetch(`${demo.base}/account-link/demo-pairing-account/start`, { method: 'POST' })).json()) as { data: Record<string, string> }).data;
    assert.equal(pairing.verification_uri, `${defaultPublicUrl(port)}/link`);
    assert.match(pairing.prompt, /^To link Demo \(pairing page\), open /);
    for (const id of ['demo-device-account', 'demo-pairing-account']) await fetch(`${demo.base}/account-link/${id}/cancel`, { method: 'POST' });
  });

  it("the demo sign-in server knows the hub's loopback and LAN callbacks, and no others", async () => {
    const authorize = async (redirectUri: string): Promise<number> => {
      const verifier = randomBytes(32).toString('base64url');
      const query = new URLSearchParams({
        client_id: 'account-link-test',
        response_type: 'code',
        scope: 'openid',
        redirect_uri: redirectUri,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        state: 'demo',
      });
      const response = await fetch(`${demo.issuer}/auth?${query}`, { redirect: 'manual' });
      await response.body?.cancel();
      return response.status;
    };
    // A known redirect URI goes on to the sign-in (a redirect); an unknown one is refused on the spot.
    assert.equal(await authorize(loopbackRedirectUri(port)), 303, 'loopback: the automatic return on the hub and the paste step');
    assert.equal(await authorize(defaultRedirectUri(defaultPublicUrl(port)!)), 303, 'LAN: the automatic return from a phone');
    assert.equal(await authorize('http://192.0.2.99:1880/link/callback'), 400);
  });

  it('keeps the console to its own lines: no demo server advice, no listener warnings, the broker connection logged once', async () => {
    await until(() => demo.count(/Connected to broker/) > 0, 'the broker connection');
    // The actions above went through the same connection: still one line.
    assert.equal(demo.count(/Connected to broker/), 1, demo.output);
    assert.equal(demo.count(/oidc-provider/), 0, 'no oidc-provider WARNING or NOTICE lines');
    assert.equal(demo.count(/MaxListenersExceededWarning|\(node:\d+\) \w*Warning/), 0, 'no Node.js warnings');
  });
});
