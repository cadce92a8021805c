/**
 * Issue 6, case 1: power loss. Node-RED is SIGKILLed at random moments while access tokens live
 * two seconds and every refresh rotates the refresh token (oidc-provider revokes the grant when an
 * old one is presented again). After each restart the link must be `linked` and refresh.
 */
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FaultNodeRed, observerNodes, sleep } from '../helpers/faults-node-red.js';
import { FaultProxy } from '../helpers/faults-proxy.js';
import { linkByDevice, proxiedOidcLink } from '../helpers/faults-links.js';
import { evidence, faultSuite, figure } from '../helpers/faults-suite.js';
import { TokenStore } from '../../src/core/index.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';

const KILLS = Number(process.env.ACCOUNT_LINK_FAULT_KILLS ?? 100);
/** A kill lands uniformly within this long after the post-restart checks (about two refresh cycles). */
const KILL_SPREAD_MS = 4_000;

faultSuite('faults 1: power loss during rotating refreshes', function () {
  this.timeout(12 * 60_000);
  let provider: TestProvider;
  let proxy: FaultProxy;
  let red: FaultNodeRed;

  before(async () => {
    provider = await startTestProvider({ accessTokenTtl: 2 });
    proxy = await FaultProxy.start(provider.issuer);
    const userDir = await mkdtemp(path.join(os.tmpdir(), 'account-link-faults-power-'));
    evidence.cleanup.push(userDir);
    red = await FaultNodeRed.create(userDir, [proxiedOidcLink('acct', 'alice', provider, proxy), ...observerNodes('acct', 'alice')], {
      // A hundred restarts: no editor (and so no comms socket) to load each time.
      disableEditor: true,
    });
    evidence.processes.push(red);
    await red.start();
    await linkByDevice(red, 'acct', provider);
  });

  after(async () => {
    await red?.kill('SIGTERM');
    for (const secret of proxy?.secrets ?? []) evidence.secrets.add(secret);
    await proxy?.close();
    await provider?.close();
  });

  it(`stays linked through ${KILLS} SIGKILLs at random moments, except inside the rotation window`, async () => {
    const losses: string[] = [];
    const inRotationWindow: string[] = [];
    const restartMs: number[] = [];
    const store = await TokenStore.open(path.join(red.userDir, 'account-link'));
    for (let kill = 1; kill <= KILLS; kill++) {
      await sleep(Math.random() * KILL_SPREAD_MS);
      const refreshesBefore = provider.count('refresh_token');
      await red.kill('SIGKILL');
      const killedAt = Date.now();
      // What survived on disk, and whether the provider had already rotated it away before the kill.
      const onDisk = (await store.read('acct'))?.tokens.refreshToken;
      const rotatedAway = provider.requests.some((r) => r.grantType === 'refresh_token' && r.status === 200 && r.presented === onDisk);
      await red.start();
      restartMs.push(Date.now() - killedAt);

      const snapshot = await red.snapshot('acct');
      const refreshed = snapshot.state === 'linked' ? await red.admin('POST', 'account-link/acct/refresh') : undefined;
      const ok = refreshed?.status === 200 && refreshed.body.data?.state === 'linked';
      if (!ok) {
        const rejected = provider.requests.filter((r) => r.grantType === 'refresh_token' && r.status !== 200);
        (rotatedAway ? inRotationWindow : losses).push(
          `kill ${kill}: after restart ${snapshot.state} (${snapshot.error?.code ?? 'no error'}), refresh ` +
            `${refreshed ? `${refreshed.status} ${refreshed.body?.error?.code ?? refreshed.body?.state}` : 'not tried'}; ` +
            `provider saw ${provider.count('refresh_token') - refreshesBefore} refreshes since the kill, ` +
            `${rejected.length} rejected so far (${rejected.at(-1)?.error ?? '-'})`,
        );
        await linkByDevice(red, 'acct', provider);
      }
    }
    const refreshes = provider.requests.filter((r) => r.grantType === 'refresh_token');
    const sorted = [...restartMs].sort((a, b) => a - b);
    figure(
      `power loss: ${KILLS} SIGKILLs, ${losses.length + inRotationWindow.length} links lost ` +
        `(${inRotationWindow.length} inside the rotation window, ${losses.length} elsewhere), ${refreshes.length} refreshes ` +
        `(${refreshes.filter((r) => r.status !== 200).length} rejected by the provider); restart median ` +
        `${sorted[Math.floor(sorted.length / 2)]} ms`,
    );
    for (const loss of inRotationWindow) figure(`  in the rotation window: ${loss}`);
    for (const loss of losses) figure(`  ${loss}`);
    // A kill after the provider rotated the refresh token and before the new one reached the disk
    // (a few ms per refresh, measured below) loses a link with any client: the new token existed only
    // in the dead process. Every other moment must be survived.
    assert.deepEqual(losses, [], 'no SIGKILL outside the rotation window may lose the link');
    assert.ok(inRotationWindow.length <= KILLS / 10, `rotation-window losses stay rare (${inRotationWindow.length} of ${KILLS})`);
  });

  it('a kill between the provider rotating and the store write is reported, not hidden (the rotation window)', async () => {
    // The one place a crash can lose a rotating link: the provider has consumed the old refresh
    // token and sent the new one, and the process dies before the new one is on disk. Kill exactly
    // there, several times, and measure what survives.
    const trials = 3;
    let lost = 0;
    for (let trial = 0; trial < trials; trial++) {
      await red.waitFor('acct', (s) => s.state === 'linked', 10_000);
      const killed = new Promise<void>((resolve) => {
        proxy.onTokenResponse = (grantType, status) => {
          if (grantType !== 'refresh_token' || status !== 200) return;
          proxy.onTokenResponse = undefined;
          red.child?.kill('SIGKILL');
          resolve();
        };
      });
      await killed;
      await red.kill('SIGKILL');
      await red.start();
      const snapshot = await red.snapshot('acct');
      const refreshed = snapshot.state === 'linked' ? await red.admin('POST', 'account-link/acct/refresh') : undefined;
      if (refreshed?.status === 200) continue;
      lost++;
      // Lost honestly: the provider's refusal is confirmed once (30 s later, with the same refresh
      // token), then relink_required with invalid_grant; never a quiet `linked`.
      const refusal = refreshed?.body?.data?.error?.code ?? snapshot.error?.code;
      assert.equal(refusal, 'invalid_grant_unconfirmed', JSON.stringify({ refreshed: refreshed?.body, snapshot }));
      const after = await red.waitFor('acct', (s) => s.state === 'relink_required', 60_000);
      assert.equal(after.error?.code, 'invalid_grant');
      await linkByDevice(red, 'acct', provider);
    }
    const windows = await measureRotationWindow(red, proxy, 15);
    figure(
      `rotation window: from the provider's answer leaving the proxy to the store file's rename: ` +
        `median ${windows[Math.floor(windows.length / 2)]!.toFixed(1)} ms, max ${windows.at(-1)!.toFixed(1)} ms over ${windows.length} refreshes`,
    );
    figure(`rotation window: a SIGKILL right after the provider's rotated answer passed the proxy lost ${lost} of ${trials} links`);
  });
});

/** Milliseconds from a rotated refresh answer leaving the proxy to the new store file being in place, sorted. */
async function measureRotationWindow(red: FaultNodeRed, proxy: FaultProxy, samples: number): Promise<number[]> {
  const dir = path.join(red.userDir, 'account-link');
  const windows: number[] = [];
  let answeredAt: number | undefined;
  const watcher = watch(dir, (_event, file) => {
    if (file === 'acct.json' && answeredAt !== undefined) {
      windows.push(performance.now() - answeredAt);
      answeredAt = undefined;
    }
  });
  proxy.onTokenResponse = (grantType, status) => {
    if (grantType === 'refresh_token' && status === 200) answeredAt = performance.now();
  };
  const deadline = Date.now() + 60_000;
  while (windows.length < samples && Date.now() < deadline) await sleep(100);
  proxy.onTokenResponse = undefined;
  watcher.close();
  return windows.sort((a, b) => a - b);
}
