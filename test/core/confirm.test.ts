import assert from 'node:assert/strict';
import { cleanupTempDirs } from '../helpers/core-fixtures.js';
import { ExpirySim, type SimAnswer, type SimOptions } from '../helpers/expiry-sim.js';

const MINUTE = 60_000;

/**
 * Confirm before giving up (issue 11): an `invalid_grant` that comes as a surprise is asked once
 * more, with the same refresh token, before the link turns `relink_required`. Provider-shaped
 * answers (Microsoft, GitHub, Google) from MockAgent; the first refresh is due 54 min after linking.
 */
describe('core: an unexpected invalid_grant is confirmed once before the link is given up', function () {
  this.timeout(60_000);
  after(cleanupTempDirs);

  /** A link whose n-th refresh gets `answers[n - 1]`, and a good answer after those. */
  function scripted(base: Omit<SimOptions, 'refresh'>, good: (n: number) => SimAnswer, answers: SimAnswer[]): Promise<ExpirySim> {
    return ExpirySim.linked({ ...base, refresh: (n) => answers[n - 1] ?? good(n) });
  }

  const microsoft: Omit<SimOptions, 'refresh'> = {
    settings: { provider: 'microsoft', clientId: 'ms-client-id' },
    linked: { token_type: 'Bearer', scope: 'User.Read', expires_in: 3599, ext_expires_in: 3599, access_token: 'eyJ0.ms-0', refresh_token: 'M.C5.ms-0' },
  };
  const microsoftGood = (n: number): SimAnswer => ({
    json: { token_type: 'Bearer', scope: 'User.Read', expires_in: 3599, ext_expires_in: 3599, access_token: `eyJ0.ms-${n}`, refresh_token: `M.C5.ms-${n}` },
  });
  /** Microsoft's refusal of a refresh token it considers idle too long (AADSTS700082). */
  const aadsts700082 = (headers: Record<string, string> = {}): SimAnswer => ({
    status: 400,
    headers,
    json: {
      error: 'invalid_grant',
      error_description: 'AADSTS700082: The refresh token has expired due to inactivity. The token was issued on 2026-01-01T00:00:00Z and was inactive for 90.00:00:00.',
      error_codes: [700082],
      timestamp: '2026-03-01 10:54:30Z',
      trace_id: '0000aaaa-11bb-cc22-dd33-444444eeeeee',
      correlation_id: 'aaaa0000-bb11-2222-33cc-444444dddddd',
    },
  });

  it('Microsoft, a false alarm: linked meanwhile, the token served, retry_later to requests, then the same refresh token works', async () => {
    const sim = await scripted(microsoft, microsoftGood, [aadsts700082()]);
    try {
      await sim.clock.advanceToNext();
      const waiting = sim.link.snapshot();
      assert.deepEqual([waiting.state, waiting.error?.code], ['linked', 'invalid_grant_unconfirmed']);
      assert.match(waiting.error!.message, /asked once more/);
      const failed = sim.eventsOf('refresh_failed');
      assert.deepEqual(failed.map((e) => [(e.error as { code: string }).code, e.retry_at]), [
        ['invalid_grant_unconfirmed', new Date(sim.clock.now() + 30_000).toISOString()],
      ]);
      assert.equal(await sim.link.accessToken(), 'eyJ0.ms-0', 'the still-valid access token is served');
      await assert.rejects(sim.link.refresh(), { code: 'retry_later' });
      assert.equal(sim.refreshes.length, 1, 'nothing asked meanwhile');

      await sim.clock.advance(30_000);
      assert.deepEqual(sim.refreshes.map((r) => [r.presented, r.at - sim.refreshes[0]!.at]), [
        ['M.C5.ms-0', 0],
        ['M.C5.ms-0', 30_000],
      ]);
      const after = sim.link.snapshot();
      assert.deepEqual([after.state, after.error], ['linked', null]);
      assert.equal(await sim.link.accessToken(), 'eyJ0.ms-2');
      assert.equal(sim.eventsOf('relink_required').length, 0);
      await sim.runDays(1);
      assert.equal(sim.link.snapshot().state, 'linked', 'and it keeps refreshing');
    } finally {
      await sim.close();
    }
  });

  it('Microsoft with Retry-After: the confirmation waits for it; the link turns error when the access token runs out, linked after', async () => {
    const sim = await scripted(microsoft, microsoftGood, [aadsts700082({ 'retry-after': '600' })]);
    const states: { at: number; state: string; code: string | undefined }[] = [];
    sim.link.on('snapshot', (s) => states.push({ at: sim.clock.now(), state: s.state, code: s.error?.code }));
    try {
      await sim.clock.advanceToNext();
      const refusedAt = sim.clock.now();
      const expiresAt = Date.parse(sim.link.snapshot().token_expires_at!);
      await sim.clock.advance(9 * MINUTE);
      assert.equal(sim.link.snapshot().state, 'error', 'the access token ran out meanwhile');
      await assert.rejects(sim.link.accessToken(), { code: 'invalid_grant_unconfirmed' });
      await sim.clock.advance(MINUTE);
      assert.deepEqual(sim.refreshes.map((r) => r.at - refusedAt), [0, 600_000], 'asked again after Retry-After');
      assert.deepEqual(
        states.map((s) => [s.at - refusedAt, s.state, s.code]),
        [
          [0, 'linked', 'invalid_grant_unconfirmed'],
          [expiresAt - 30_000 - refusedAt, 'error', 'invalid_grant_unconfirmed'],
          [600_000, 'linked', undefined],
        ],
      );
    } finally {
      await sim.close();
    }
  });

  it('GitHub, refused twice (bad_refresh_token, HTTP 200): relink_required after the confirmation, then silence', async () => {
    const refused: SimAnswer = {
      json: { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.', error_uri: 'https://docs.github.com' },
    };
    const sim = await scripted(
      {
        settings: { provider: 'github', clientId: 'Iv1.github-app' },
        linked: { access_token: 'ghu_0', expires_in: 28_800, refresh_token: 'ghr_0', refresh_token_expires_in: 15_897_600, scope: '', token_type: 'bearer' },
      },
      () => ({ json: {} }),
      [refused, refused],
    );
    try {
      await sim.clock.advanceToNext();
      assert.equal(sim.link.snapshot().error?.code, 'invalid_grant_unconfirmed');
      await sim.clock.advance(30_000);
      const done = sim.link.snapshot();
      assert.deepEqual([done.state, done.error?.code], ['relink_required', 'invalid_grant']);
      assert.deepEqual(sim.refreshes.map((r) => r.presented), ['ghr_0', 'ghr_0']);
      assert.deepEqual(sim.events.slice(-2).map((e) => e.event_type), ['refresh_failed', 'relink_required']);
      await sim.runDays(3);
      assert.equal(sim.refreshes.length, 2);
      assert.equal(sim.clock.pendingTimers, 0);
    } finally {
      await sim.close();
    }
  });

  it('Google in Testing, refused within the last day of its week: the expected end, given up at once', async () => {
    let refuse = false;
    const sim = await scripted(
      {
        settings: { provider: 'google', clientId: 'g.apps.googleusercontent.com', clientSecret: 'GOCSPX-secret' },
        linked: { access_token: 'ya29.0', expires_in: 3599, refresh_token: '1//g0', refresh_token_expires_in: 604_799, scope: 'openid', token_type: 'Bearer' },
      },
      (n) =>
        refuse
          ? { status: 400, json: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } }
          : { json: { access_token: `ya29.${n}`, expires_in: 3599, scope: 'openid', token_type: 'Bearer' } },
      [],
    );
    try {
      const horizon = Date.parse(sim.link.snapshot().refresh_expires_at!);
      sim.clock.setNow(horizon - 12 * 3600_000);
      refuse = true;
      await assert.rejects(sim.link.accessToken(), { code: 'invalid_grant' });
      assert.equal(sim.link.snapshot().state, 'relink_required');
      assert.equal(sim.refreshes.length, 1, 'no confirmation');
      assert.ok(sim.link.snapshot().refresh_expires_at, 'the date stays for the record');
    } finally {
      await sim.close();
    }
  });
});
