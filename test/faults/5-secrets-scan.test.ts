/**
 * Issue 6, case 5: after cases 1-4, no secret any of them handled (access, refresh and ID tokens,
 * device codes, authorization codes, PKCE verifiers, client secrets) appears in a user directory
 * outside the encrypted store, in Node-RED's trace log, on MQTT (`#`), in an admin API response,
 * in a comms/debug message or in the flows' own HTTP answers. Before scanning, one more link is made
 * through the pairing page so a PKCE verifier, an authorization code and the pairing cookie are
 * among the secrets.
 */
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { proxiedOidcLink } from '../helpers/faults-links.js';
import { FaultNodeRed, observerNodes } from '../helpers/faults-node-red.js';
import { FaultProxy } from '../helpers/faults-proxy.js';
import { cleanupEvidence, evidence, faultSuite, figure } from '../helpers/faults-suite.js';
import { passPairingPage } from '../helpers/pairing-form.js';
import { startTestProvider } from '../../demo/sign-in-server.js';

/**
 * Flow nodes that call the link's API through `account-link-request`: GET /<slug>/api answers the
 * userinfo, GET /<slug>/api-forbidden the error of a request to a host the token may not go to.
 * Both messages also go to a debug node (sidebar and console), so its messages, badges and log lines
 * are in the scan.
 */
function requestNodes(account: string, slug: string): unknown[] {
  const p = `${account}-api`;
  return [
    { id: `${p}-tab`, type: 'tab', label: `api of ${slug}` },
    { id: `${p}-in`, type: 'http in', z: `${p}-tab`, url: `/${slug}/api`, method: 'get', wires: [[`${p}-request`]] },
    { id: `${p}-request`, type: 'account-link-request', z: `${p}-tab`, account, method: 'GET', url: 'me', ret: 'obj', allowedHosts: '', queueLimit: 100, wires: [[`${p}-plain`]] },
    { id: `${p}-bad-in`, type: 'http in', z: `${p}-tab`, url: `/${slug}/api-forbidden`, method: 'get', wires: [[`${p}-bad`]] },
    { id: `${p}-bad`, type: 'account-link-request', z: `${p}-tab`, account, method: 'GET', url: 'https://example.invalid/me', ret: 'obj', allowedHosts: '', queueLimit: 100, wires: [[`${p}-plain`]] },
    { id: `${p}-catch`, type: 'catch', z: `${p}-tab`, scope: [`${p}-request`, `${p}-bad`], wires: [[`${p}-error`]] },
    { id: `${p}-error`, type: 'function', z: `${p}-tab`, func: 'msg.payload = { error: msg.error.code, message: msg.error.message };\nreturn msg;', wires: [[`${p}-plain`]] },
    // The answer to the HTTP caller, and the same message without req/res to the debug node.
    { id: `${p}-plain`, type: 'function', z: `${p}-tab`, func: 'const { req, res, ...rest } = msg;\nreturn [msg, rest];', outputs: 2, wires: [[`${p}-out`], [`${p}-debug`]] },
    { id: `${p}-out`, type: 'http response', z: `${p}-tab`, statusCode: '200', wires: [] },
    { id: `${p}-debug`, type: 'debug', z: `${p}-tab`, active: true, tosidebar: true, console: true, complete: 'true', wires: [] },
  ];
}

/** Every file under `dir` except the encrypted token store and the package symlink. */
async function userDirFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir)) {
    const full = path.join(dir, entry);
    const info = await lstat(full);
    if (info.isSymbolicLink()) continue;
    if (info.isDirectory()) {
      if (entry === 'account-link') {
        // The encrypted store itself is allowed to hold secrets; anything else in it is not.
        for (const stored of await readdir(full)) {
          if (!/^[A-Za-z0-9._-]+\.json$/.test(stored) && stored !== '.key') files.push(path.join(full, stored));
        }
        continue;
      }
      files.push(...(await userDirFiles(full)));
    } else files.push(full);
  }
  return files;
}

faultSuite('faults 5: secrets scan', function () {
  this.timeout(3 * 60_000);

  after(cleanupEvidence);

  it('links once more through the pairing page (PKCE) to have every kind of secret in play', async () => {
    const provider = await startTestProvider({ accessTokenTtl: 3600 });
    const proxy = await FaultProxy.start(provider.issuer);
    const userDir = await mkdtemp(path.join(os.tmpdir(), 'account-link-faults-pairing-'));
    evidence.cleanup.push(userDir);
    const red = await FaultNodeRed.create(userDir, [
      proxiedOidcLink('pair', 'bob', provider, proxy, { flow: 'pairing', deviceAuthorizationEndpoint: '' }),
      ...observerNodes('pair', 'bob'),
      ...requestNodes('pair', 'bob'),
    ]);
    evidence.processes.push(red);
    // The page's address is only known once the port is.
    const flows = JSON.parse(await readFile(path.join(userDir, 'flows.json'), 'utf8')) as Record<string, unknown>[];
    flows[0]!.publicUrl = red.base;
    await writeFile(path.join(userDir, 'flows.json'), JSON.stringify(flows));
    provider.addRedirectUri(`${red.base}/link/callback`);
    try {
      await red.start();
      const started = await red.admin('POST', 'account-link/pair/start');
      assert.equal(started.body.data.state, 'pending', started.text);
      const { authorizeUrl, cookie, browserKey, answers } = await passPairingPage(red.base, started.body.data.user_code);
      red.httpBodies.push(...answers);
      // The pairing cookie is a secret like the others: it must not show up anywhere but the browser.
      evidence.secrets.add(browserKey);
      const back = await provider.authorize(authorizeUrl, { accountId: 'bob' });
      const page = await fetch(back, { headers: { cookie } });
      red.httpBodies.push(await page.text());
      assert.equal(page.status, 200);
      const linked = await red.waitFor('pair', (s) => s.state === 'linked', 10_000);
      assert.equal(linked.account.name, 'Bob');
      assert.equal((await red.admin('POST', 'account-link/pair/refresh')).status, 200);
      // The request node signs its calls with the link's token; none of it may show up anywhere.
      assert.equal((await red.http('bob/api', 10_000))?.body.sub, 'bob');
      assert.equal((await red.http('bob/api-forbidden', 10_000))?.body.error, 'forbidden_host');
      // The review surfaces (issue 12) answer too, so their bodies are scanned with the rest.
      const links = await red.admin('GET', 'account-link/links');
      assert.deepEqual(links.body.map((s: { link: string; state: string }) => [s.link, s.state]), [['bob', 'linked']], links.text);
      assert.equal((await red.admin('GET', 'account-link/apps')).status, 200);
      assert.ok(
        provider.requests.some((r) => r.grantType === 'authorization_code' && r.status === 200),
        'an authorization code with a PKCE verifier was exchanged',
      );
    } finally {
      await red.kill('SIGTERM');
      for (const secret of proxy.secrets) evidence.secrets.add(secret);
      await proxy.close();
      await provider.close();
    }
  });

  it('finds no secret outside the encrypted store, in logs, on MQTT, in admin, comms or HTTP answers', async () => {
    assert.ok(evidence.processes.length >= 5, 'run with `npm run test:faults` so cases 1-4 leave something to scan');
    const secrets = [...evidence.secrets].filter((s) => s.length >= 12);
    assert.ok(secrets.length >= 50, `secrets to look for: ${secrets.length}`);

    const sources: { name: string; text: string }[] = [];
    for (const red of evidence.processes) {
      const label = path.basename(red.userDir);
      sources.push({ name: `${label} trace log`, text: red.output });
      sources.push({ name: `${label} admin responses`, text: red.adminBodies.join('\n') });
      sources.push({ name: `${label} comms/debug messages`, text: red.commsFrames.join('\n') });
      sources.push({ name: `${label} flow HTTP answers`, text: red.httpBodies.join('\n') });
      for (const file of await userDirFiles(red.userDir)) {
        sources.push({ name: path.relative(path.dirname(red.userDir), file), text: await readFile(file, 'latin1') });
      }
    }
    sources.push({ name: 'MQTT #', text: evidence.mqtt.map((m) => `${m.topic} ${m.payload}`).join('\n') });
    // `#` holds the review array and the spoken code topics as well (case 2 shows codes while restarting).
    assert.ok(evidence.mqtt.some((m) => m.topic === 'account-link/links' && m.payload.startsWith('[')), 'account-link/links was scanned');
    assert.ok(evidence.mqtt.some((m) => m.topic.endsWith('/prompt_spoken') && m.payload !== ''), 'a spoken prompt was scanned');

    const leaks: string[] = [];
    for (const source of sources) {
      for (const secret of secrets) {
        if (source.text.includes(secret)) leaks.push(`${source.name}: …${secret.slice(-6)}`);
      }
    }
    const bytes = sources.reduce((sum, s) => sum + s.text.length, 0);
    figure(
      `secrets scan: ${secrets.length} secrets × ${sources.length} sources (${(bytes / 1024 / 1024).toFixed(1)} MiB, ` +
        `${evidence.mqtt.length} MQTT messages, ${evidence.processes.reduce((n, r) => n + r.commsFrames.length, 0)} comms frames): ` +
        `${leaks.length} leaks`,
    );
    for (const leak of leaks.slice(0, 20)) figure(`  leak: ${leak}`);
    assert.ok(sources.some((s) => /\[trace\]/.test(s.text)), 'the logs were at trace level');
    assert.deepEqual(leaks, []);
  });
});
