import assert from 'node:assert/strict';
import { RelinkLadder } from '../../src/core/relink-warnings.js';
import { cleanupTempDirs } from '../helpers/core-fixtures.js';
import { DAY, ExpirySim } from '../helpers/expiry-sim.js';

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Each expiry model over 200 simulated days (issue 11): the date a link needs a person again, the
 * relink warnings (each once, restarts included), keep-alives, and no refresh storms. random() = 0,
 * so every refresh lands exactly 10% of the token's lifetime before its expiry.
 */
describe('core: expiry models over 200 simulated days', function () {
  this.timeout(180_000);
  after(cleanupTempDirs);

  it('fixed (Spotify, 1 h tokens): 180 days from approval, warnings at 14, 3 and 1 days once each across a restart, then nothing', async () => {
    const sim = await ExpirySim.linked({
      settings: { provider: 'spotify', clientId: 'spotify-client-id' },
      linked: { access_token: 'sp-access-0', refresh_token: 'sp-refresh-0', token_type: 'Bearer', expires_in: 3600 },
      // Spotify mostly keeps the refresh token; sometimes it sends a new one.
      refresh: (n) => ({
        json: { access_token: `sp-access-${n}`, token_type: 'Bearer', expires_in: 3600, ...(n % 500 === 0 ? { refresh_token: `sp-refresh-${n}` } : {}) },
      }),
      account: { url: 'https://api.spotify.com/v1/me', body: { id: 'alice123', display_name: 'Alice' } },
    });
    try {
      const horizon = sim.linkedAt + 180 * DAY;
      const snapshotAtLink = sim.link.snapshot();
      assert.equal(snapshotAtLink.refresh_expires_at, iso(horizon));
      const prompts: string[] = [];
      sim.link.on('event', (e, snapshot) => e.event_type === 'relink_soon' && prompts.push(`${snapshot.prompt}`));
      await sim.runDays(170);
      await sim.restart();
      sim.link.on('event', (e, snapshot) => e.event_type === 'relink_soon' && prompts.push(`${snapshot.prompt}`));
      await sim.runDays(11);

      const lines = [
        `Spotify link approved ${iso(sim.linkedAt)}; refresh_expires_at ${snapshotAtLink.refresh_expires_at} (approval + 180 days); access tokens last 1 h`,
        ...sim.timeline(),
        `day 181.00  state ${sim.link.snapshot().state}; ${sim.refreshes.length} token calls in all, none after day ${sim.day(sim.refreshes.at(-1)!.at)}; ${sim.clock.pendingTimers} timers armed`,
        ...prompts.map((p, i) => `prompt at warning ${i + 1}: "${p}"`),
      ];
      console.log(`\n      ${lines.join('\n      ')}\n`);

      assert.deepEqual(
        sim.eventsOf('relink_soon').map((e) => [Date.parse(e.at), e.days_left, e.refresh_expires_at]),
        [
          [horizon - 14 * DAY, 14, iso(horizon)],
          [horizon - 3 * DAY, 3, iso(horizon)],
          [horizon - DAY, 1, iso(horizon)],
        ],
      );
      assert.match(prompts[0]!, /^The Spotify link ends in 14 days, on \d{4}-\d\d-\d\d; link it again before then\.$/);
      assert.deepEqual(sim.eventsOf('relink_required').map((e) => [Date.parse(e.at), (e.error as { code: string }).code]), [[horizon, 'refresh_expired']]);
      // One refresh per 54 minutes until the end, none at or after it: 180 days × 24 h / 0.9 h, less the one due at the end.
      assert.equal(sim.refreshes.length, (180 * DAY) / (0.9 * HOUR) - 1);
      assert.ok(sim.gaps().every((gap) => gap === 0.9 * HOUR), 'every refresh 54 min after the last, restart included');
      assert.ok(sim.refreshes.at(-1)!.at < horizon);
      assert.equal(sim.link.snapshot().state, 'relink_required');
      assert.equal(sim.clock.pendingTimers, 0);

      const calls = sim.mock.calls.length;
      await sim.runDays(19);
      assert.equal(sim.mock.calls.length, calls, 'days 181-200: nothing asked of the provider');
      assert.equal(sim.eventsOf('relink_soon').length, 3);
    } finally {
      await sim.close();
    }
  });

  it('inactivity (Microsoft, access tokens without a stated lifetime): keep-alives every 30 days; a hub off for 80 days is warned once and revived', async () => {
    const sim = await ExpirySim.linked({
      settings: { provider: 'microsoft', clientId: 'ms-client-id' },
      linked: { token_type: 'Bearer', scope: 'openid profile offline_access User.Read', access_token: 'ms-access-0', refresh_token: 'ms-refresh-0' },
      refresh: (n) => ({ json: { token_type: 'Bearer', scope: 'openid profile offline_access User.Read', access_token: `ms-access-${n}`, refresh_token: `ms-refresh-${n}` } }),
      account: { url: 'https://graph.microsoft.com/oidc/userinfo', body: { sub: 'AAAAbbbb', name: 'Alice' } },
    });
    try {
      assert.equal(sim.link.snapshot().refresh_expires_at, iso(sim.linkedAt + 90 * DAY), '90 idle days from the last token answer');
      await sim.runDays(95);
      assert.deepEqual(sim.refreshes.map((r) => sim.day(r.at)), [30, 60, 90], 'keep-alives, nobody asking for a token');
      assert.deepEqual(
        sim.refreshes.map((r) => r.presented),
        ['ms-refresh-0', 'ms-refresh-1', 'ms-refresh-2'],
        'each keep-alive presents the rotated token',
      );
      assert.equal(sim.link.snapshot().refresh_expires_at, iso(sim.linkedAt + 180 * DAY));
      assert.equal(sim.eventsOf('relink_soon').length, 0, 'a horizon kept ahead is never warned about');

      // The hub is off from day 95 to day 175: 5 days are left when it comes back.
      await sim.restart(80);
      assert.deepEqual(sim.eventsOf('relink_soon').map((e) => [sim.day(Date.parse(e.at)), e.days_left]), [[175, 5]]);
      assert.equal(sim.refreshes.length, 4, 'the overdue keep-alive ran at once');
      assert.equal(sim.link.snapshot().refresh_expires_at, iso(sim.clock.now() + 90 * DAY));
      assert.equal(sim.link.snapshot().prompt, null, 'the warning is over once the horizon moved');
      await sim.restart();
      await sim.runDays(25);
      assert.equal(sim.eventsOf('relink_soon').length, 1, 'sent once');
      assert.equal(sim.refreshes.length, 4, 'next keep-alive on day 205');
      assert.equal(sim.link.snapshot().state, 'linked');
    } finally {
      await sim.close();
    }
  });

  it('stated (GitHub app, 8 h tokens, 184-day rotating refresh tokens): each answer restates the date; no warning, no storm', async () => {
    const lifetimeS = 15_897_600;
    const sim = await ExpirySim.linked({
      settings: { provider: 'github', clientId: 'Iv1.github-app' },
      linked: { access_token: 'ghu_0', expires_in: 28_800, refresh_token: 'ghr_0', refresh_token_expires_in: lifetimeS, scope: '', token_type: 'bearer' },
      refresh: (n) => ({
        json: { access_token: `ghu_${n}`, expires_in: 28_800, refresh_token: `ghr_${n}`, refresh_token_expires_in: lifetimeS, scope: '', token_type: 'bearer' },
      }),
      account: { url: 'https://api.github.com/user', body: { id: 583231, login: 'octocat', name: 'The Octocat' } },
    });
    try {
      assert.equal(sim.link.snapshot().refresh_expires_at, iso(sim.linkedAt + lifetimeS * 1000));
      await sim.runDays(200);
      assert.equal(sim.refreshes.length, Math.floor((200 * DAY) / (0.9 * 8 * HOUR)));
      assert.ok(sim.gaps().every((gap) => gap === 0.9 * 8 * HOUR));
      assert.ok(sim.refreshes.every((r, i) => r.presented === `ghr_${i}`), 'always the newest refresh token');
      assert.equal(sim.link.snapshot().refresh_expires_at, iso(sim.refreshes.at(-1)!.at + lifetimeS * 1000), 'the latest statement wins');
      assert.equal(sim.eventsOf('relink_soon').length, 0);
      assert.equal(sim.link.snapshot().state, 'linked');
    } finally {
      await sim.close();
    }
  });

  it('stated, short (Google app in Testing): the prompt says so from the start; warnings at 3 and 1 days; a relink starts a new ladder', async () => {
    const week = 604_799;
    let grantStart = 0;
    const sim = await ExpirySim.linked({
      settings: { provider: 'google', clientId: 'g.apps.googleusercontent.com', clientSecret: 'GOCSPX-secret' },
      linked: { access_token: 'ya29.0', expires_in: 3599, refresh_token: '1//g0', refresh_token_expires_in: week, scope: 'openid', token_type: 'Bearer' },
      // Google keeps the refresh token and states what is left of its week.
      refresh: (n) => ({
        json: {
          access_token: `ya29.${n}`,
          expires_in: 3599,
          refresh_token_expires_in: week - Math.floor((sim.clock.now() - grantStart) / 1000),
          scope: 'openid',
          token_type: 'Bearer',
        },
      }),
    });
    grantStart = sim.linkedAt;
    try {
      const horizon = sim.linkedAt + week * 1000;
      const first = sim.link.snapshot();
      assert.equal(first.refresh_expires_at, iso(horizon));
      assert.match(first.prompt ?? '', /^The Google link ends in 7 days, on \d{4}-\d\d-\d\d; link it again before then\. The Google app is in Testing/);
      assert.match(first.prompt ?? '', /Publish app/);
      await sim.runDays(8);
      // Whole seconds restated each hour move the date by a fraction of a second at most.
      const near = (at: string, expected: number) => Math.abs(Date.parse(at) - expected) < 60_000;
      const warnings = sim.eventsOf('relink_soon');
      assert.deepEqual(warnings.map((e) => e.days_left), [3, 1], 'the 14-day rung lies outside a 7-day life');
      assert.ok(near(warnings[0]!.at, horizon - 3 * DAY) && near(warnings[1]!.at, horizon - DAY), JSON.stringify(warnings));
      const ended = sim.eventsOf('relink_required');
      assert.ok(ended.length === 1 && near(ended[0]!.at, horizon));
      assert.ok(sim.gaps().every((gap) => gap >= 0.9 * 3599_000 - 1000), 'no storm as the end nears');

      // The person links again: a new week, a new ladder.
      const { finished } = await sim.link.start();
      await sim.clock.advance(30_000);
      grantStart = sim.clock.now();
      assert.equal((await finished).state, 'linked');
      await sim.runDays(7);
      assert.equal(sim.eventsOf('relink_soon').length, 4);
      assert.equal(sim.eventsOf('relink_required').length, 2);
    } finally {
      await sim.close();
    }
  });

  it('none (custom provider that states nothing, 1-day rotating tokens): no end known, no warning, one refresh a day for 200 days', async () => {
    const sim = await ExpirySim.linked({
      settings: { provider: 'custom', clientId: 'home', tokenEndpoint: 'https://auth.example.test/oauth/token', authorizationEndpoint: 'https://auth.example.test/oauth/authorize' },
      linked: { access_token: 'a-0', refresh_token: 'r-0', expires_in: 86_400, token_type: 'Bearer' },
      refresh: (n) => ({ json: { access_token: `a-${n}`, refresh_token: `r-${n}`, expires_in: 86_400, token_type: 'Bearer' } }),
    });
    try {
      await sim.runDays(200);
      assert.equal(sim.refreshes.length, Math.floor(200 / 0.9));
      assert.ok(sim.gaps().every((gap) => gap === 0.9 * DAY));
      const last = sim.link.snapshot();
      assert.deepEqual([last.state, last.refresh_expires_at, last.prompt], ['linked', null, null]);
      assert.equal(sim.eventsOf('relink_soon').length + sim.eventsOf('relink_required').length, 0);
    } finally {
      await sim.close();
    }
  });

  it('the ladder: the lead is configurable, 3 and 1 days follow, 0 turns warnings off', () => {
    assert.deepEqual(new RelinkLadder().days, [14, 3, 1]);
    assert.deepEqual(new RelinkLadder(30).days, [30, 3, 1]);
    assert.deepEqual(new RelinkLadder(2).days, [2, 1]);
    assert.deepEqual(new RelinkLadder(0).days, []);
  });
});
