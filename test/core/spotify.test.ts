import assert from 'node:assert/strict';
import { cleanupTempDirs, instantPairing, makeLink, nextEvent } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MockProvider } from '../helpers/mock-provider.js';

const START = Date.parse('2026-03-01T10:00:00.000Z');
const DAY = 24 * 3600_000;

/**
 * Spotify: fixed preset URLs (served by MockAgent), no device flow (a stand-in pairing method
 * completes at once), and refresh tokens that die 180 days after approval whatever happens.
 */
describe('core: Spotify preset', function () {
  after(cleanupTempDirs);

  it('refresh_expires_at = approval + 180 days; relink_soon 14, 3 and 1 days before; then relink_required', async () => {
    // A refresh (MockAgent + fsync) must arm its next timer before time moves on, even on a busy machine.
    const clock = new ManualClock({ start: START, idleMs: 500 });
    const accounts = new MockProvider(clock, 'https://accounts.spotify.com');
    const api = accounts.agent.get('https://api.spotify.com');
    api.intercept({ path: '/v1/me', method: 'GET' }).reply(200, { id: 'alice123', display_name: 'Alice' }, {
      headers: { 'content-type': 'application/json' },
    });
    let issued = 0;
    // Spotify sometimes rotates the refresh token and sometimes not; long-lived access tokens keep the test short.
    accounts.agent
      .get('https://accounts.spotify.com')
      .intercept({ path: '/api/token', method: 'POST' })
      .reply(() => {
        issued++;
        const body: Record<string, unknown> = { access_token: `sp-access-${issued}`, token_type: 'Bearer', expires_in: 20 * 24 * 3600 };
        if (issued % 2 === 0) body.refresh_token = `sp-refresh-${issued}`;
        return { statusCode: 200, data: JSON.stringify(body), responseOptions: { headers: { 'content-type': 'application/json' } } };
      })
      .persist();

    const { link, rec } = await makeLink({
      settings: { provider: 'spotify', clientId: 'spotify-client-id' },
      clock,
      http: { dispatcher: accounts.dispatcher },
      pairing: instantPairing(clock, {
        access_token: 'sp-access-0',
        refresh_token: 'sp-refresh-0',
        token_type: 'bearer',
        expires_in: 3600,
        scope: 'user-read-playback-state user-modify-playback-state',
      }),
    });
    try {
      await link.load();
      const { pending, finished } = await link.start();
      assert.equal(pending.user_code, 'BDWP-HQPK');
      assert.equal(pending.prompt, 'To link Spotify, open 192.168.1.20:1880/link and enter BDWP-HQPK');
      await clock.advance(30_000);
      const linked = await finished;
      const approvedAt = START + 30_000;
      assert.equal(linked.state, 'linked');
      assert.deepEqual(linked.account, { id: 'alice123', name: 'Alice' });
      assert.deepEqual(linked.scopes, ['user-read-playback-state', 'user-modify-playback-state']);
      const horizon = approvedAt + 180 * DAY;
      assert.equal(linked.refresh_expires_at, new Date(horizon).toISOString());

      const eventAt = (type: string) => rec.events.filter((e) => e.event_type === type).map((e) => Date.parse(e.at));
      await clock.advance(166 * DAY - 1_000);
      assert.deepEqual(eventAt('relink_soon'), [], 'not yet');
      assert.ok(issued >= 7, `refreshed ${issued} times meanwhile`);
      assert.equal(link.snapshot().refresh_expires_at, new Date(horizon).toISOString(), 'refreshes do not move the horizon');
      assert.equal(link.snapshot().prompt, null, 'no prompt before the first warning');
      await clock.advance(1_000);
      assert.deepEqual(eventAt('relink_soon'), [horizon - 14 * DAY]);
      assert.equal(link.snapshot().state, 'linked');
      assert.equal(link.snapshot().prompt, `The Spotify link ends in 14 days, on ${new Date(horizon).toISOString().slice(0, 10)}; link it again before then.`);

      await clock.advance(14 * DAY - 1_000);
      assert.deepEqual(eventAt('relink_soon'), [horizon - 14 * DAY, horizon - 3 * DAY, horizon - DAY], 'the ladder: 14, 3 and 1 days before');
      assert.deepEqual(rec.events.filter((e) => e.event_type === 'relink_soon').map((e) => e.days_left), [14, 3, 1]);
      assert.match(link.snapshot().prompt ?? '', /^The Spotify link ends within a day, on \d{4}-\d\d-\d\d; link it again now\.$/);
      assert.equal(link.snapshot().state, 'linked');
      const relink = nextEvent(link, 'relink_required');
      await clock.advance(1_000);
      await relink;
      const done = link.snapshot();
      assert.equal(done.state, 'relink_required');
      assert.equal(done.error?.code, 'refresh_expired');
      assert.deepEqual(eventAt('relink_required'), [horizon]);
      assert.equal(eventAt('relink_soon').length, 3, 'each warning only once');
      assert.equal(done.prompt, null);
      assert.equal(clock.pendingTimers, 0);
      const refreshes = issued;
      await clock.advance(30 * DAY);
      assert.equal(issued, refreshes, 'no refresh after the horizon');

      // No revocation endpoint: local delete plus the apps page.
      const callsBefore = accounts.calls.length;
      const revoked = await link.revoke();
      assert.equal(accounts.calls.length, callsBefore);
      assert.equal(revoked.manageUrl, 'https://www.spotify.com/account/apps/');
      assert.equal(revoked.snapshot.state, 'unlinked');
    } finally {
      await link.close();
      await accounts.close();
    }
  });

  it('a 403 "not registered" from /v1/me fails the attempt with a plain message', async () => {
    const clock = new ManualClock({ start: START });
    const mock = new MockProvider(clock, 'https://accounts.spotify.com');
    mock.agent
      .get('https://api.spotify.com')
      .intercept({ path: '/v1/me', method: 'GET' })
      .reply(403, 'User not registered in the Developer Dashboard', { headers: { 'content-type': 'text/plain' } });
    const { link, store } = await makeLink({
      settings: { provider: 'spotify', clientId: 'spotify-client-id' },
      clock,
      http: { dispatcher: mock.dispatcher },
      pairing: instantPairing(clock, { access_token: 'a', refresh_token: 'r', token_type: 'bearer', expires_in: 3600 }, 0),
    });
    try {
      await link.load();
      const { finished } = await link.start();
      await clock.advance(0);
      const done = await finished;
      assert.equal(done.state, 'unlinked');
      assert.equal(done.error?.code, 'user_not_registered');
      assert.match(done.error!.message, /User Management/);
      assert.equal(await store.read('node1'), null, 'nothing stored');
    } finally {
      await link.close();
      await mock.close();
    }
  });

  it('without a pairing method, start() explains that Spotify needs the pairing page', async () => {
    const clock = new ManualClock({ start: START });
    const { link } = await makeLink({ settings: { provider: 'spotify', clientId: 'x' }, clock });
    await link.load();
    await assert.rejects(link.start(), { code: 'unsupported' });
    await link.close();
  });
});
