import assert from 'node:assert/strict';
import type { Link } from '../../src/core/link.js';
import { cleanupTempDirs, makeLink, type Recorder } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import {
  MOCK_DEVICE_CODE_GRANT,
  MockProvider,
  networkError,
  oauthError,
  pending,
  slowDown,
  timeoutError,
  tokens,
  type MockReply,
} from '../helpers/mock-provider.js';

const START = Date.parse('2026-03-01T10:00:00.000Z');

/** RFC 8628 polling against a scripted provider (undici MockAgent), timed by a ManualClock. */
describe('core: device-flow polling (scripted provider)', function () {
  let clock: ManualClock;
  let mock: MockProvider;
  let link: Link;
  let rec: Recorder;

  beforeEach(async () => {
    clock = new ManualClock({ start: START });
    mock = new MockProvider(clock);
    mock.userinfo('user-1', 'Mock User');
    ({ link, rec } = await makeLink({ settings: mock.settings(), clock, http: { dispatcher: mock.dispatcher } }));
    await link.load();
  });
  afterEach(async () => {
    await link.close();
    await mock.close();
  });
  after(cleanupTempDirs);

  /** Runs an attempt whose polls get `replies` in order; returns the final snapshot and the poll times (s from start). */
  async function poll(replies: MockReply[], device: { interval?: number; expires_in?: number } = { interval: 5 }) {
    mock.deviceAuthorization(device);
    mock.token(...replies);
    const { finished } = await link.start();
    const snapshot = await clock.runUntilSettled(finished);
    const times = mock.tokenCalls(MOCK_DEVICE_CODE_GRANT).map((c) => (c.at - START) / 1000);
    return { snapshot, times, gaps: times.map((t, i) => t - (i === 0 ? 0 : times[i - 1])) };
  }

  const ok = () => tokens({ access_token: 'mock-access-1', refresh_token: 'mock-refresh-1' });

  it('polls at the interval, never earlier, and links', async () => {
    const { snapshot, gaps } = await poll([pending(), pending(), pending(), ok()], { interval: 7 });
    assert.deepEqual(gaps, [7, 7, 7, 7]);
    assert.equal(snapshot.state, 'linked');
    assert.deepEqual(snapshot.account, { id: 'user-1', name: 'Mock User' });
    for (const call of mock.tokenCalls()) {
      assert.equal(call.form.get('device_code'), 'mock-device-code-5b1d');
      assert.equal(call.form.get('client_id'), 'mock-client');
    }
  });

  it('uses 5 s when the provider gives no interval', async () => {
    const { gaps } = await poll([pending(), ok()], {});
    assert.deepEqual(gaps, [5, 5]);
  });

  it('slow_down adds 5 s to every later poll, cumulatively', async () => {
    const { gaps, snapshot } = await poll([pending(), slowDown(), pending(), pending(), slowDown(), pending(), ok()]);
    assert.deepEqual(gaps, [5, 5, 10, 10, 10, 15, 15]);
    assert.equal(snapshot.state, 'linked');
  });

  it('honours Retry-After on 429 (seconds) and 503 (HTTP date), then returns to the interval', async () => {
    const retryDate = new Date(START + 85_000).toUTCString();
    const { gaps } = await poll([
      { status: 429, body: 'slow down', headers: { 'retry-after': '30' } },
      pending(),
      { status: 503, body: 'maintenance', headers: { 'retry-after': retryDate } },
      ok(),
    ]);
    // 429 at 5 s → next poll 30 s later; 503 at 40 s asks to wait until 85 s (45 s).
    assert.deepEqual(gaps, [5, 30, 5, 45]);
  });

  it('a Retry-After shorter than the interval still waits the interval', async () => {
    const { gaps } = await poll([{ status: 429, headers: { 'retry-after': '1' } }, ok()], { interval: 10 });
    assert.deepEqual(gaps, [10, 10]);
  });

  it('backs off (doubling) on network errors and timeouts, then resumes the interval', async () => {
    const { gaps, snapshot } = await poll([networkError('ECONNRESET'), timeoutError(), networkError('ECONNREFUSED'), pending(), ok()]);
    assert.deepEqual(gaps, [5, 10, 20, 40, 5]);
    assert.equal(snapshot.state, 'linked');
    const lines = rec.logs.map((l) => l.message).join('\n');
    assert.match(lines, /poll failed \(network\)/);
    assert.match(lines, /poll failed \(timeout\)/);
  });

  it('the back-off is capped at 5 minutes', async () => {
    const failures = Array.from({ length: 9 }, () => networkError());
    const { gaps } = await poll([...failures, ok()], { interval: 5, expires_in: 3600 });
    assert.deepEqual(gaps, [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]);
  });

  it('survives an HTML error page, broken JSON and a 10 MiB body while polling', async () => {
    const { gaps, snapshot } = await poll([
      { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', headers: { 'content-type': 'text/html' } },
      { status: 400, body: '<!DOCTYPE html><html><title>Error</title></html>', headers: { 'content-type': 'text/html' } },
      { status: 200, body: '{"access_token": "abc", ', headers: { 'content-type': 'application/json' } },
      { status: 200, body: Buffer.alloc(10 * 1024 * 1024, 0x61), headers: { 'content-type': 'application/json' } },
      ok(),
    ]);
    assert.equal(snapshot.state, 'linked');
    assert.equal(gaps.length, 5);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] >= 5, `poll ${i} came ${gaps[i]} s after the previous`);
    const lines = rec.logs.map((l) => l.message).join('\n');
    assert.match(lines, /poll failed \(provider_unavailable\)/);
    assert.match(lines, /poll failed \(bad_response\)/);
    assert.match(lines, /poll failed \(response_too_large\)/);
    assert.doesNotMatch(lines, /<html|DOCTYPE/i);
  });

  it('expired_token from the provider → code_expired, polling stops', async () => {
    const { snapshot, times } = await poll([pending(), oauthError('expired_token')]);
    assert.equal(snapshot.state, 'unlinked');
    assert.equal(snapshot.error?.code, 'code_expired');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'code_expired']);
    await clock.advance(60_000);
    assert.equal(mock.tokenCalls().length, times.length);
    assert.equal(clock.pendingTimers, 0);
  });

  it('access_denied and unknown errors stop polling with the matching error', async () => {
    const denied = await poll([oauthError('access_denied')]);
    assert.equal(denied.snapshot.error?.code, 'access_denied');
    const other = await poll([oauthError('invalid_client', 401)]);
    assert.equal(other.snapshot.state, 'unlinked');
    assert.equal(other.snapshot.error?.code, 'invalid_client');
    const weird = await poll([oauthError('server_on_fire', 400, { error_description: 'x'.repeat(5000) })]);
    assert.equal(weird.snapshot.error?.code, 'provider_error');
    assert.ok(weird.snapshot.error!.message.length <= 300, 'provider text is clipped');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'access_denied', 'linking_started', 'error', 'linking_started', 'error']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('stops at expires_in even while the provider keeps saying pending', async () => {
    const { snapshot, times } = await poll(Array.from({ length: 20 }, pending), { interval: 5, expires_in: 30 });
    assert.equal(snapshot.error?.code, 'code_expired');
    assert.deepEqual(times, [5, 10, 15, 20, 25]);
  });

  it('caps a device code at 1 h and the interval at 60 s, however large the numbers the provider sends', async () => {
    mock.deviceAuthorization({ interval: 1e9, expires_in: 1e20 });
    mock.token(...Array.from({ length: 70 }, pending));
    const { pending: shown, finished } = await link.start();
    assert.equal(shown.state, 'pending');
    assert.equal(shown.code_expires_at, new Date(START + 3_600_000).toISOString());
    const snapshot = await clock.runUntilSettled(finished);
    assert.equal(snapshot.error?.code, 'code_expired');
    const times = mock.tokenCalls(MOCK_DEVICE_CODE_GRANT).map((c) => (c.at - START) / 1000);
    assert.deepEqual(times, Array.from({ length: 59 }, (_, i) => 60 * (i + 1)), 'one poll a minute until the hour is over');
    assert.deepEqual(rec.eventTypes(), ['linking_started', 'code_expired']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('GitHub-style errors sent with HTTP 200 are read as OAuth errors', async () => {
    const { gaps, snapshot } = await poll([
      { status: 200, json: { error: 'authorization_pending' } },
      { status: 200, json: { error: 'slow_down', interval: 10 } },
      ok(),
    ]);
    assert.deepEqual(gaps, [5, 5, 10]);
    assert.equal(snapshot.state, 'linked');
  });

  it('a device authorization failure rejects start() and leaves the link as it was', async () => {
    mock.reply(mock.paths.device, 'POST', oauthError('invalid_client', 401));
    // No authorization endpoint to fall back to: the words name what to check.
    await assert.rejects(link.start(), { code: 'device_flow_refused', message: /\(invalid_client\)\. Check the client id and secret/ });
    assert.equal(link.snapshot().state, 'unlinked');
    assert.equal(clock.pendingTimers, 0);
    mock.reply(mock.paths.device, 'POST', networkError('ECONNREFUSED'));
    await assert.rejects(link.start(), { code: 'network' });
  });
});
