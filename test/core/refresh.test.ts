import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { runAction } from '../../src/core/actions.js';
import type { Link } from '../../src/core/link.js';
import type { TokenStore } from '../../src/core/store.js';
import { cleanupTempDirs, makeLink, nextEvent, type Recorder } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { MockProvider, networkError, oauthError, tokens } from '../helpers/mock-provider.js';

const START = Date.parse('2026-03-01T10:00:00.000Z');
const HOUR = 3600_000;

/** Keeping a link alive: refresh timing, rotation, failures and relink, against a scripted provider. */
describe('core: refresh (scripted provider)', function () {
  let clock: ManualClock;
  let mock: MockProvider;
  let link: Link;
  let store: TokenStore;
  let rec: Recorder;
  let linkedAt: number;

  beforeEach(async () => {
    clock = new ManualClock({ start: START, idleMs: 300 });
    mock = new MockProvider(clock);
    mock.userinfo('user-1', 'Mock User');
    ({ link, store, rec } = await makeLink({ settings: mock.settings(), clock, http: { dispatcher: mock.dispatcher } }));
    await link.load();
    mock.deviceAuthorization({ interval: 5 });
    mock.token(tokens({ access_token: 'access-0', refresh_token: 'refresh-0', expires_in: 3600 }));
    const { finished } = await link.start();
    await clock.advance(5_000);
    assert.equal((await finished).state, 'linked');
    linkedAt = clock.now();
    mock.calls.length = 0;
  });
  afterEach(async () => {
    await link.close();
    await mock.close();
  });
  after(cleanupTempDirs);

  const refreshCalls = () => mock.tokenCalls('refresh_token');

  it('refreshes 10% of the lifetime before expiry (random() = 0)', async () => {
    assert.equal(clock.nextDue, linkedAt + 0.9 * HOUR);
    mock.token(tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }));
    await clock.advance(0.9 * HOUR - 1);
    assert.equal(refreshCalls().length, 0);
    await clock.advance(1);
    await clock.waitForTimers(1);
    assert.equal(refreshCalls().length, 1);
    assert.equal(refreshCalls()[0].at, linkedAt + 0.9 * HOUR);
    assert.equal(await link.accessToken(), 'access-1');
    assert.equal(link.snapshot().token_expires_at, new Date(clock.now() + HOUR).toISOString());
    assert.equal(rec.eventTypes().at(-1), 'refreshed');
  });

  it('keeps the old refresh token when a response has none, and uses a rotated one at once', async () => {
    mock.token(
      tokens({ access_token: 'access-1' }),
      tokens({ access_token: 'access-2', refresh_token: 'refresh-2' }),
      tokens({ access_token: 'access-3' }),
    );
    // Refreshes asked for are spaced 10 s apart; closer ones are answered without a call.
    await clock.advance(10_000);
    await link.refresh();
    assert.equal((await store.read('node1'))!.tokens.refreshToken, 'refresh-0');
    await clock.advance(10_000);
    await link.refresh();
    assert.equal((await store.read('node1'))!.tokens.refreshToken, 'refresh-2');
    await clock.advance(10_000);
    await link.refresh();
    assert.deepEqual(
      refreshCalls().map((c) => c.form.get('refresh_token')),
      ['refresh-0', 'refresh-0', 'refresh-2'],
    );
    const stored = (await store.read('node1'))!;
    assert.equal(stored.tokens.refreshToken, 'refresh-2');
    assert.equal(stored.tokens.accessToken, 'access-3');
    assert.equal(await link.accessToken(), 'access-3');
  });

  it('invalid_grant, confirmed once 30 s later → relink_required, no retry, and it survives a restart', async () => {
    mock.token(oauthError('invalid_grant'), oauthError('invalid_grant'));
    const relink = nextEvent(link, 'relink_required');
    await clock.advanceToNext();
    assert.equal(link.snapshot().error?.code, 'invalid_grant_unconfirmed');
    assert.equal(clock.nextDue, clock.now() + 30_000, 'the confirmation is due in 30 s');
    await clock.advanceToNext();
    await relink;
    assert.deepEqual(
      refreshCalls().map((c) => c.form.get('refresh_token')),
      ['refresh-0', 'refresh-0'],
      'the same refresh token confirms',
    );
    const snap = link.snapshot();
    assert.equal(snap.state, 'relink_required');
    assert.equal(snap.error?.code, 'invalid_grant');
    assert.deepEqual(snap.account, { id: 'user-1', name: 'Mock User' });
    assert.deepEqual(rec.eventTypes().slice(-1), ['relink_required']);
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(48 * HOUR);
    assert.equal(refreshCalls().length, 2, 'no retry');
    await assert.rejects(link.accessToken(), { code: 'invalid_grant' });
    await assert.rejects(link.refresh(), { code: 'invalid_grant' });
    assert.equal(refreshCalls().length, 2);

    const restarted = await makeLink({ settings: mock.settings(), clock, http: { dispatcher: mock.dispatcher }, store });
    const loaded = await restarted.link.load();
    assert.equal(loaded.state, 'relink_required');
    assert.equal(loaded.error?.code, 'invalid_grant');
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(restarted.link.accessToken(), { code: 'invalid_grant' });

    // Linking again clears it.
    mock.deviceAuthorization({ interval: 5 });
    mock.token(tokens({ access_token: 'access-new', refresh_token: 'refresh-new' }));
    const { finished } = await restarted.link.start();
    await clock.advance(5_000);
    const relinked = await finished;
    assert.equal(relinked.state, 'linked');
    assert.equal(relinked.error, null);
    assert.equal(await restarted.link.accessToken(), 'access-new');
    await restarted.link.close();
  });

  it('a transient failure keeps serving the still-valid token; error only once it expired; then recovery', async () => {
    const expiresAt = linkedAt + HOUR;
    // Nine failures of different kinds, then success.
    mock.token(
      { status: 503, body: 'down' },
      networkError(),
      { status: 500, body: '<html><body>Internal Server Error</body></html>', headers: { 'content-type': 'text/html' } },
      { status: 200, body: '{"access_token":', headers: { 'content-type': 'application/json' } },
      { status: 200, body: Buffer.alloc(10 * 1024 * 1024, 0x20), headers: { 'content-type': 'application/json' } },
      { status: 429, body: '', headers: { 'retry-after': '120' } },
      networkError('ETIMEDOUT'),
      networkError(),
      networkError(),
      tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }),
    );
    const transitions: { at: number; state: string; code: string | undefined }[] = [];
    link.on('snapshot', (s) => transitions.push({ at: clock.now(), state: s.state, code: s.error?.code }));

    await clock.advanceToNext();
    await clock.waitForTimers(1);
    assert.equal(refreshCalls().length, 1);
    assert.equal(link.snapshot().state, 'linked');
    assert.equal(link.snapshot().error?.code, 'provider_unavailable');
    const before = mock.calls.length;
    assert.equal(await link.accessToken(), 'access-0', 'the old token is still served');
    assert.equal(mock.calls.length, before, 'without asking the provider');

    while (refreshCalls().length < 10) {
      await clock.waitForTimers(1);
      assert.ok(await clock.advanceToNext(), 'a retry stays armed');
    }
    await clock.waitForTimers(1);
    const gaps = refreshCalls().map((c, i, all) => (i === 0 ? 0 : (c.at - all[i - 1].at) / 1000));
    // Exponential back-off from 5 s (random() = 0); the 429 asked for 120 s instead of 40.
    assert.deepEqual(gaps, [0, 5, 10, 20, 40, 80, 160, 320, 600, 600]);
    const codes = rec.events.filter((e) => e.event_type === 'refresh_failed').map((e) => (e.error as { code: string }).code);
    assert.deepEqual(codes, [
      'provider_unavailable',
      'network',
      'provider_unavailable',
      'bad_response',
      'response_too_large',
      'rate_limited',
      'network',
      'network',
      'network',
    ]);

    const firstError = transitions.find((t) => t.state === 'error');
    assert.ok(firstError, 'the link reported an error once the token was gone');
    // An access token within 30 s of expiry is no longer handed out.
    assert.ok(firstError.at >= expiresAt - 30_000, 'no error state while the token was valid');
    for (const t of transitions.filter((t) => t.at < expiresAt - 30_000)) assert.equal(t.state, 'linked');

    // Recovered.
    const final = link.snapshot();
    assert.equal(final.state, 'linked');
    assert.equal(final.error, null);
    assert.equal(await link.accessToken(), 'access-1');
    assert.equal(rec.eventTypes().at(-1), 'refreshed');
    assert.equal((await store.read('node1'))!.tokens.refreshToken, 'refresh-1');
    assert.doesNotMatch(rec.logs.map((l) => l.message).join('\n'), /<html/i);
  });

  it('invalid_client on refresh is an error to fix, not a dead grant: retried, and recovers without relinking', async () => {
    mock.token(oauthError('invalid_client', 401), tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }));
    await clock.advance(10_000);
    await assert.rejects(link.refresh(), { code: 'invalid_client' });
    assert.equal(link.snapshot().state, 'linked', 'the still-valid access token keeps the link usable');
    assert.equal(link.snapshot().error?.code, 'invalid_client');
    assert.ok(!rec.eventTypes().includes('relink_required'));
    assert.equal((await store.read('node1'))!.problem ?? null, null, 'nothing marks the stored link dead');
    await clock.advance(0.9 * HOUR);
    await clock.waitForTimers(1);
    assert.equal(refreshCalls().length, 2, 'the scheduled refresh tried again');
    assert.equal(await link.accessToken(), 'access-1');
    assert.equal(link.snapshot().error, null);
  });

  it('a rotated token the disk refuses is kept in memory and used, and saved by the next refresh', async () => {
    const write = store.write.bind(store);
    let refuse = true;
    store.write = async (id, record) => {
      if (refuse) throw new Error('ENOSPC: no space left on device');
      return write(id, record);
    };
    mock.token(
      tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }),
      tokens({ access_token: 'access-2', refresh_token: 'refresh-2' }),
    );
    const problem = nextEvent(link, 'error');
    await clock.advance(10_000);
    await link.refresh();
    assert.equal(((await problem).error as { code: string }).code, 'store_failed');
    assert.equal(await link.accessToken(), 'access-1', 'the new token is served: the old one is spent');
    assert.equal((await store.read('node1'))!.tokens.refreshToken, 'refresh-0');
    refuse = false;
    await clock.advance(10_000);
    await link.refresh();
    assert.deepEqual(
      refreshCalls().map((c) => c.form.get('refresh_token')),
      ['refresh-0', 'refresh-1'],
      'the next refresh presents the token kept in memory',
    );
    assert.equal((await store.read('node1'))!.tokens.refreshToken, 'refresh-2');
    assert.equal(link.snapshot().error, null);
  });

  it('while a retry is pending, accessToken() on an expired token fails fast without a request', async () => {
    mock.token({ status: 503, body: '' });
    clock.setNow(linkedAt + HOUR + 1);
    await assert.rejects(link.accessToken(), { code: 'provider_unavailable' });
    assert.equal(link.snapshot().state, 'error');
    await assert.rejects(link.accessToken(), { code: 'provider_unavailable' });
    assert.equal(refreshCalls().length, 1);
  });

  it('1,000 concurrent accessToken() calls on an expired token → one request', async () => {
    mock.token(tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }));
    clock.setNow(linkedAt + HOUR);
    const results = await Promise.all(Array.from({ length: 1000 }, () => link.accessToken()));
    assert.equal(refreshCalls().length, 1);
    assert.ok(results.every((t) => t === 'access-1'));
  });

  it('refresh() joins a refresh under way', async () => {
    mock.token(tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }));
    await clock.advance(10_000);
    const [a, b] = await Promise.all([link.refresh(), link.refresh(), link.accessToken()]);
    assert.equal(refreshCalls().length, 1);
    assert.equal(a.state, 'linked');
    assert.equal(b.token_expires_at, a.token_expires_at);
  });

  it('20 refresh requests make 1 token call: spaced 10 s from the last token call, joined while under way, retry_later during back-off', async () => {
    const ask = async (times: number, together = false) => {
      const run = () => runAction(link, 'refresh').then((outcome) => outcome.reply);
      if (together) return Promise.all(Array.from({ length: times }, run));
      const replies = [];
      for (let i = 0; i < times; i++) replies.push(await run());
      return replies;
    };
    mock.token(tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }), tokens({ access_token: 'access-2', refresh_token: 'refresh-2' }));
    // Linking was a token call: the tokens are new.
    assert.ok((await ask(20)).every((r) => r.status === 'ok' && r.data.state === 'linked'));
    assert.equal(refreshCalls().length, 0);

    await clock.advance(10_000);
    const spaced = await ask(20);
    assert.equal(refreshCalls().length, 1);
    assert.ok(spaced.every((r) => r.status === 'ok' && r.data.token_expires_at === spaced[0]!.data.token_expires_at));

    await clock.advance(10_000);
    const together = await ask(20, true);
    assert.equal(refreshCalls().length, 2, 'the requests under way joined one refresh');
    assert.ok(together.every((r) => r.status === 'ok'));

    await clock.advance(10_000);
    mock.token({ status: 503, body: '' });
    const [failed, ...refused] = await ask(20);
    assert.equal(failed!.error?.code, 'provider_unavailable');
    assert.equal(refreshCalls().length, 3);
    assert.deepEqual([...new Set(refused.map((r) => r.error?.code))], ['retry_later']);
    assert.match(refused[0]!.error!.message, /next try waits until .* \(5 s\)/);
    assert.equal(refused[0]!.data.state, 'linked', 'the reply carries the snapshot');
    assert.equal(refreshCalls().length, 3, 'no call during back-off');

    // Back-off over (5 s) but within 10 s of the failed call: the snapshot, no call. Then a call.
    await clock.advance(5_000);
    assert.equal((await ask(1))[0]!.error, null);
    assert.equal(refreshCalls().length, 3);
    mock.token(tokens({ access_token: 'access-4', refresh_token: 'refresh-4' }));
    await clock.advance(5_000);
    assert.equal((await ask(1))[0]!.data.error, null);
    assert.equal(refreshCalls().length, 4);
    assert.equal(await link.accessToken(), 'access-4');
  });

  it("refreshRequests 'unspaced' (test rigs): every request reaches the provider, except during an invalid_grant's confirmation", async () => {
    const rig = await makeLink({ settings: mock.settings(), clock, http: { dispatcher: mock.dispatcher }, store, refreshRequests: 'unspaced' });
    await rig.link.load();
    const calls = () => refreshCalls().length;
    mock.token({ status: 503, body: '' }, tokens({ access_token: 'access-1', refresh_token: 'refresh-1' }), oauthError('invalid_grant'));
    await assert.rejects(rig.link.refresh(), { code: 'provider_unavailable' });
    await rig.link.refresh();
    assert.equal(calls(), 2, 'no spacing, no back-off');
    await assert.rejects(rig.link.refresh(), { code: 'invalid_grant_unconfirmed' });
    await assert.rejects(rig.link.refresh(), { code: 'retry_later' });
    assert.equal(calls(), 3, 'the confirmation keeps its delay');
    await rig.link.close();
  });

  it('revoke tells the provider both tokens; when it cannot, tokens are still deleted and the problem reported', async () => {
    mock.reply(mock.paths.revoke, 'POST', { status: 200 }, 2);
    const ok = await link.revoke();
    assert.equal(ok.snapshot.state, 'unlinked');
    assert.equal(ok.snapshot.error, null);
    const revokes = mock.calls.filter((c) => c.path === mock.paths.revoke);
    assert.deepEqual(
      revokes.map((c) => [c.form.get('token'), c.form.get('token_type_hint')]),
      [
        ['refresh-0', 'refresh_token'],
        ['access-0', 'access_token'],
      ],
    );
    await assert.rejects(access(store.fileFor('node1')), { code: 'ENOENT' });

    // Link again, then revoke with the provider unreachable.
    mock.deviceAuthorization({ interval: 5 });
    mock.token(tokens({ access_token: 'access-9', refresh_token: 'refresh-9' }));
    const { finished } = await link.start();
    await clock.advance(5_000);
    await finished;
    mock.reply(mock.paths.revoke, 'POST', networkError('ECONNREFUSED'));
    const failed = await link.revoke();
    assert.equal(failed.snapshot.state, 'unlinked');
    assert.equal(failed.snapshot.error?.code, 'network');
    assert.match(failed.snapshot.error!.message, /deleted here/);
    assert.equal(await store.read('node1'), null);
    assert.equal(rec.events.at(-1)?.provider_revoked, false);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a link whose provider has no revocation endpoint only deletes locally', async () => {
    const other = await makeLink({
      settings: mock.settings({ revocationEndpoint: '' }),
      clock,
      http: { dispatcher: mock.dispatcher },
      store,
    });
    await other.link.load();
    const before = mock.calls.length;
    const result = await other.link.revoke();
    assert.equal(mock.calls.length, before);
    assert.equal(result.snapshot.state, 'unlinked');
    assert.equal(result.snapshot.error, null);
    assert.equal(await store.read('node1'), null);
    await other.link.close();
  });
});
