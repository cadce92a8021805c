/**
 * Issue 6, case 3: the provider goes away — connection refused, 503 with Retry-After, and a server
 * that accepts and never answers — through a loopback proxy that switches modes.
 *
 * Two scales of time:
 * - a real Node-RED process, time compressed by a 40 s access-token lifetime: about a minute of
 *   outage in all three modes (the engine's 5 s retry base and 20 s response timeout are real);
 * - the engine itself on a ManualClock (a real process cannot skip time): a full ten-minute outage
 *   with a realistic 10-minute access token, real HTTP through the same proxy and oidc-provider.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Link, LinkError, TokenStore, type LinkEvent, type Snapshot } from '../../src/core/index.js';
import { linkByDevice, proxiedOidcLink } from '../helpers/faults-links.js';
import { FaultNodeRed, observerNodes, sleep } from '../helpers/faults-node-red.js';
import { FaultProxy, type ProxyMode } from '../helpers/faults-proxy.js';
import { evidence, faultSuite, figure } from '../helpers/faults-suite.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';

/** The engine hands out no access token this close to its expiry (src/core/link.ts EXPIRY_SKEW_MS). */
const EXPIRY_SKEW_MS = 30_000;

faultSuite('faults 3: provider outage', function () {
  this.timeout(6 * 60_000);

  describe('a real Node-RED process (40 s tokens)', () => {
    let provider: TestProvider;
    let proxy: FaultProxy;
    let red: FaultNodeRed;

    before(async () => {
      provider = await startTestProvider({ accessTokenTtl: 40 });
      proxy = await FaultProxy.start(provider.issuer);
      proxy.retryAfterSeconds = 2;
      const userDir = await mkdtemp(path.join(os.tmpdir(), 'account-link-faults-outage-'));
      evidence.cleanup.push(userDir);
      red = await FaultNodeRed.create(userDir, [proxiedOidcLink('acct', 'alice', provider, proxy), ...observerNodes('acct', 'alice')]);
      evidence.processes.push(red);
      await red.start();
    });

    after(async () => {
      await red?.kill('SIGTERM');
      for (const secret of proxy?.secrets ?? []) evidence.secrets.add(secret);
      await proxy?.close();
      await provider?.close();
    });

    it('serves the token while valid, errs only after, retries spaced, recovers alone', async () => {
      const linked = await linkByDevice(red, 'acct', provider);
      const expiresAt = Date.parse(linked.token_expires_at);
      const outageFrom = Date.now();
      const logFrom = red.output.length;
      const failureLines = () => red.output.slice(logFrom).match(/refresh failed \(([a-z_]+)\)/g) ?? [];
      const failuresSeenAt: number[] = [];
      const samples: { at: number; state: string; served?: boolean }[] = [];
      await proxy.setMode('refuse');

      // refuse until one attempt failed, then 503 for one, then hang for one (it times out after 20 s).
      const plan: [ProxyMode, number][] = [['unavailable', 1], ['hang', 2], ['pass', 3]];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const at = Date.now();
          const [token, snapshot] = await Promise.all([red.http('alice/token', 1_500), red.snapshot('acct')]);
          samples.push({ at, state: snapshot.state, served: token?.body?.served });
          await sleep(500);
        }
      })();
      while (plan.length > 0) {
        const seen = failureLines().length;
        while (failuresSeenAt.length < seen) failuresSeenAt.push(Date.now());
        if (seen >= plan[0]![1]) await proxy.setMode(plan.shift()![0]);
        assert.ok(red.alive, 'Node-RED is running');
        assert.ok(Date.now() - outageFrom < 150_000, `the outage plan stalled after ${seen} failures`);
        await sleep(100);
      }
      polling = false;
      await poller;
      const passFrom = Date.now();
      // No one asks for a token now: the link must heal on its own retry timer.
      const healed = await red.waitFor('acct', (s) => s.state === 'linked' && Date.parse(s.token_expires_at) > expiresAt, 90_000);
      assert.equal(healed.error, null);
      assert.ok(red.alive);

      const failures = failureLines().map((line) => line.replace(/refresh failed \(|\)/g, ''));
      const attempts = proxy.tokenAttempts('refresh_token').filter((a) => a.at >= outageFrom);
      const tokenPolls = samples.length;
      figure(
        `outage (real process): ${failures.length} failed refreshes (${failures.join(', ')}) while /token was polled ` +
          `${tokenPolls} times; ${attempts.length} token-endpoint requests reached the proxy ` +
          `(${attempts.map((a) => `${a.mode}@${((a.at - outageFrom) / 1000).toFixed(1)}s`).join(', ')}); ` +
          `healed ${((Date.now() - passFrom) / 1000).toFixed(1)} s after the provider came back`,
      );
      assert.deepEqual(failures.slice(0, 3), ['network', 'provider_unavailable', 'timeout']);
      assert.ok(failures.length <= 4, `attempts are bounded: ${failures.length} failures`);
      const starts = [failuresSeenAt[0]!, ...attempts.map((a) => a.at)];
      for (let i = 1; i < starts.length; i++) {
        assert.ok(starts[i]! - starts[i - 1]! >= 4_000, `attempts ${i - 1} and ${i} are ${starts[i]! - starts[i - 1]!} ms apart`);
      }
      const staleFrom = expiresAt - EXPIRY_SKEW_MS;
      for (const sample of samples) {
        if (sample.at < staleFrom - 1_000) {
          assert.equal(sample.state, 'linked', `linked while the token is valid (${sample.at - outageFrom} ms)`);
          assert.equal(sample.served, true, `token served while valid (${sample.at - outageFrom} ms)`);
        }
        if (sample.state === 'error') assert.ok(sample.at >= staleFrom - 1_000, 'error only once the token is past its use');
      }
      assert.ok(samples.some((s) => s.state === 'error'), 'the outage outlived the token');
    });
  });

  describe('the engine on a ManualClock (ten minutes, 10-minute tokens)', () => {
    let provider: TestProvider;
    let proxy: FaultProxy;
    let dir: string;

    before(async () => {
      provider = await startTestProvider({ accessTokenTtl: 600 });
      proxy = await FaultProxy.start(provider.issuer);
      proxy.retryAfterSeconds = 60;
      dir = await mkdtemp(path.join(os.tmpdir(), 'account-link-faults-outage-engine-'));
      evidence.cleanup.push(dir);
    });

    after(async () => {
      for (const secret of proxy?.secrets ?? []) evidence.secrets.add(secret);
      await proxy?.close();
      await provider?.close();
    });

    it('survives ten minutes of refused, 503 and silent answers and heals by itself', async () => {
      const clock = new ManualClock({ idleMs: 600 });
      const link = new Link({
        id: 'engine',
        slug: 'engine',
        clock,
        store: await TokenStore.open(dir),
        http: { connectTimeoutMs: 300, responseTimeoutMs: 300 },
        settings: {
          provider: 'oidc',
          issuer: provider.issuer,
          tokenEndpoint: `${proxy.origin}/token`,
          deviceAuthorizationEndpoint: `${proxy.origin}/device/auth`,
          userinfoEndpoint: `${proxy.origin}/me`,
          clientId: provider.clientId,
          scope: 'openid profile offline_access',
          flow: 'device',
        },
      });
      const events: (LinkEvent & { virtual: number })[] = [];
      link.on('event', (event) => events.push({ ...event, virtual: clock.now() }));
      await link.load();
      const attempt = await link.start();
      await provider.approveDevice(attempt.pending.user_code!);
      while (link.snapshot().state !== 'linked') await clock.advance(5_000);
      const expiresAt = Date.parse(link.snapshot().token_expires_at!);

      // Just before the refresh falls due (60-90 s before expiry), so every mode meets attempts.
      const outageFrom = expiresAt - 120_000;
      const outageTo = outageFrom + 600_000;
      const modeAt = (t: number): ProxyMode =>
        t < outageFrom || t >= outageTo ? 'pass' : t < outageFrom + 120_000 ? 'refuse' : t < outageFrom + 240_000 ? 'unavailable' : 'hang';
      const samples: { at: number; snapshot: Snapshot; served: boolean | string }[] = [];
      let healedAt: number | undefined;
      while (clock.now() < outageTo + 11 * 60_000 && healedAt === undefined) {
        await proxy.setMode(modeAt(clock.now()));
        let served: boolean | string;
        try {
          // A consumer asking every 5 s: it must not drive extra attempts at the provider.
          await Promise.race([link.accessToken(), sleep(5_000).then(() => Promise.reject(new Error('accessToken() hung')))]);
          served = true;
        } catch (err) {
          assert.ok(err instanceof LinkError, `only LinkErrors: ${String(err)}`);
          served = err.code;
        }
        samples.push({ at: clock.now(), snapshot: link.snapshot(), served });
        if (clock.now() >= outageTo && link.snapshot().state === 'linked' && Date.parse(link.snapshot().token_expires_at!) > expiresAt) {
          healedAt = clock.now();
        }
        await clock.advance(5_000);
      }
      await link.close();

      const failed = events.filter((e) => e.event_type === 'refresh_failed');
      const during = failed.filter((e) => e.virtual >= outageFrom && e.virtual < outageTo);
      const gaps = during.slice(1).map((e, i) => (e.virtual - during[i]!.virtual) / 1000);
      figure(
        `outage (engine, ManualClock): ${during.length} failed refreshes in 10 min ` +
          `(${during.map((e) => (e.error as { code: string }).code).join(', ')}), gaps ${gaps.join(' s, ')} s; ` +
          `${samples.length} token requests; ${proxy.tokenAttempts('refresh_token').length} refresh requests reached the proxy; ` +
          `healed ${healedAt === undefined ? 'never' : `${(healedAt - outageTo) / 1000} s after the provider returned`}`,
      );
      assert.ok(healedAt !== undefined, 'healed without help');
      assert.ok(during.length >= 5 && during.length <= 12, `bounded retries: ${during.length}`);
      for (const gap of gaps) assert.ok(gap >= 5, `retries spaced: ${gaps.join(', ')}`);
      for (let i = 1; i < during.length; i++) {
        if ((during[i - 1]!.error as { code: string }).code === 'provider_unavailable') {
          assert.ok(gaps[i - 1]! >= 60, 'Retry-After: 60 is honoured');
        }
      }
      const staleFrom = expiresAt - EXPIRY_SKEW_MS;
      for (const { at, snapshot, served } of samples) {
        if (at >= outageTo) continue;
        if (at < staleFrom) {
          assert.equal(served, true, `token served while valid (t=${(at - outageFrom) / 1000} s)`);
          assert.equal(snapshot.state, 'linked');
        } else {
          assert.notEqual(served, true, 'no token handed out past its use');
          assert.equal(snapshot.state, 'error', `error once the token is past its use (t=${(at - outageFrom) / 1000} s)`);
        }
      }
    });
  });
});
