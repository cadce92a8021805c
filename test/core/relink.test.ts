import assert from 'node:assert/strict';
import type { Link } from '../../src/core/link.js';
import type { LinkOptions, StartOptions } from '../../src/core/link-types.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import type { StoredLink, TokenStore } from '../../src/core/store.js';
import { makeLink, useRealProvider, type Recorder } from '../helpers/core-fixtures.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import { until } from '../helpers/until.js';
import { DEVICE_CODE_GRANT, startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';

const ALICE = { id: 'alice', name: 'Alice' };

/** The parts of a snapshot that describe the link itself (not the attempt or the time of the change). */
function linkPart(snapshot: Snapshot) {
  const { state, account, token_expires_at, refresh_expires_at, scopes, error } = snapshot;
  return { state, account, token_expires_at, refresh_expires_at, scopes, error };
}

/**
 * Holds the store's next write until the test releases it (or fails it, as a full disk would), and
 * records every record written, in order.
 */
function gatedStore(store: TokenStore) {
  const written: StoredLink[] = [];
  const write = store.write.bind(store);
  let gate: { reached: (record: StoredLink) => void; opened: Promise<Error | null> } | undefined;
  let open: (failure: Error | null) => void = () => undefined;
  store.write = async (id, record) => {
    const held = gate;
    gate = undefined;
    if (held) {
      held.reached(record);
      const failure = await held.opened;
      if (failure) throw failure;
    }
    await write(id, record);
    written.push(record);
  };
  return {
    written,
    /** Holds the next write; resolves with its record once it is asked for. */
    holdNext(): Promise<StoredLink> {
      return new Promise((reached) => {
        gate = { reached, opened: new Promise((resolve) => (open = resolve)) };
      });
    },
    release: () => open(null),
    fail: (error: Error) => open(error),
  };
}

/** Relinking a linked account with the real authorization server (oidc-provider), as Alice or as Bob. */
describe('core: relinking against a real OIDC provider', function () {
  const suite = useRealProvider({ accessTokenTtl: 60 });
  const { links } = suite;
  let provider: TestProvider;
  let clock: ManualClock;
  beforeEach(() => ({ provider, clock } = suite));

  /** A link on `on` (default: the shared provider) linked as Alice, with what the store held then. */
  async function linkedAsAlice(options: Partial<LinkOptions> = {}, on: TestProvider = provider) {
    const made = await makeLink({ settings: { provider: 'oidc', issuer: on.issuer, clientId: on.clientId }, clock, ...options });
    links.push(made.link);
    await made.link.load();
    const first = await made.link.start();
    assert.equal(first.pending.prompt?.startsWith('To link '), true, first.pending.prompt ?? '');
    await on.approveDevice(first.pending.user_code!, { accountId: 'alice' });
    await clock.advance(5_000);
    assert.equal((await first.finished).state, 'linked');
    const before = (await made.store.read('node1'))!;
    return { ...made, before, snapshot: made.link.snapshot() };
  }

  /** Starts a relink, signs in as `accountId` on the provider's pages, lets the next poll collect the tokens. */
  async function relinkAs(link: Link, accountId: string, options: StartOptions = {}): Promise<Snapshot> {
    const { pending, finished } = await link.start(options);
    await provider.approveDevice(pending.user_code!, { accountId });
    await clock.advance(5_000);
    return finished;
  }

  /**
   * A link linked as Alice, relinked as Alice again with the new link's write held; the old access
   * token has run out by then.
   */
  async function relinkHeldAtWrite() {
    const made = await linkedAsAlice();
    const gated = gatedStore(made.store);
    const { pending, finished } = await made.link.start();
    await provider.approveDevice(pending.user_code!, { accountId: 'alice' });
    const held = gated.holdNext();
    await clock.advance(5_000);
    const newRecord = await held;
    assert.notEqual(newRecord.tokens.accessToken, made.before.tokens.accessToken);
    clock.setNow(Date.parse(made.snapshot.token_expires_at!) + 1_000);
    return { ...made, gated, finished, newRecord };
  }

  const eventsAfterRelinkStart = (rec: Recorder) => rec.eventTypes().slice(rec.eventTypes().lastIndexOf('linking_started'));

  describe('the right account', () => {
    it('refuses a relink as another account by default: the old link stays, the new tokens are revoked', async () => {
      const { link, store, rec, before, snapshot } = await linkedAsAlice();
      const done = await relinkAs(link, 'bob');

      assert.equal(done.state, 'linked');
      assert.deepEqual(done.account, ALICE);
      assert.equal(done.error?.code, 'account_changed');
      assert.match(done.error!.message, /belongs to Alice.*as Bob.*kept as it was.*Link a different account.*replace_account/);
      assert.deepEqual(eventsAfterRelinkStart(rec), ['linking_started', 'error']);
      assert.equal(rec.events.filter((e) => e.event_type === 'linked').length, 1, 'no second linked event');
      assert.deepEqual(await store.read('node1'), before, 'the stored link is untouched');
      assert.deepEqual({ ...linkPart(done), error: null }, linkPart(snapshot));
      assert.equal(await link.accessToken(), before.tokens.accessToken);

      // Bob's refresh token first, then his access token; both dead now. Alice's grant is untouched.
      assert.equal(provider.revoked.length, 2);
      assert.ok(!provider.revoked.includes(before.tokens.accessToken) && !provider.revoked.includes(before.tokens.refreshToken!));
      for (const token of provider.revoked) assert.equal(await provider.isTokenActive(token), false);
      assert.ok(await provider.isTokenActive(before.tokens.accessToken));
      assert.ok(await provider.isTokenActive(before.tokens.refreshToken!));
      assert.equal(clock.pendingTimers, 1, 'only the old link’s refresh timer');
    });

    it('accountChange "allow": the new account replaces the old one, and the linked event says so', async () => {
      const { link, store, rec, before } = await linkedAsAlice({ accountChange: 'allow' });
      const done = await relinkAs(link, 'bob');
      assert.equal(done.state, 'linked');
      assert.deepEqual(done.account, { id: 'bob', name: 'Bob' });
      assert.equal(done.error, null);
      const linked = rec.events.filter((e) => e.event_type === 'linked');
      assert.deepEqual(
        linked.map((e) => [e.account_changed, e.previous_account]),
        [
          [false, null],
          [true, ALICE],
        ],
      );
      assert.deepEqual((await store.read('node1'))!.account, { id: 'bob', name: 'Bob' });
      assert.notEqual(await link.accessToken(), before.tokens.accessToken);
      assert.deepEqual(provider.revoked, []);
    });

    it('replace_account allows another account once: the next relink as someone else is refused again', async () => {
      const { link, rec } = await linkedAsAlice();
      const switched = await relinkAs(link, 'bob', { replaceAccount: true });
      assert.deepEqual([switched.state, switched.account?.id, switched.error], ['linked', 'bob', null]);
      assert.equal(rec.events.filter((e) => e.event_type === 'linked').at(-1)?.account_changed, true);

      const back = await relinkAs(link, 'alice');
      assert.deepEqual([back.state, back.account?.id, back.error?.code], ['linked', 'bob', 'account_changed']);
      assert.equal(provider.revoked.length, 2, 'Alice’s new tokens were revoked');
    });

    it('a relink as the same account replaces the tokens', async () => {
      const { link, store, rec, before } = await linkedAsAlice();
      const done = await relinkAs(link, 'alice');
      assert.deepEqual([done.state, done.account, done.error], ['linked', ALICE, null]);
      const after = (await store.read('node1'))!;
      assert.notEqual(after.tokens.refreshToken, before.tokens.refreshToken);
      assert.equal(await link.accessToken(), after.tokens.accessToken);
      assert.equal(rec.events.filter((e) => e.event_type === 'linked').at(-1)?.account_changed, false);
      assert.deepEqual(provider.revoked, []);
    });

    it('a link that needs relinking refuses another account too, and still needs relinking', async () => {
      const { link, store, before } = await linkedAsAlice();
      await link.close();
      const problem = { code: 'invalid_grant' as const, message: 'The provider no longer accepts this link.' };
      await store.write('node1', { ...before, problem });
      const again = await makeLink({ settings: { provider: 'oidc', issuer: provider.issuer, clientId: provider.clientId }, clock, store });
      links.push(again.link);
      assert.equal((await again.link.load()).state, 'relink_required');

      const { pending, finished } = await again.link.start();
      assert.match(pending.prompt!, /^To relink /);
      assert.deepEqual(pending.account, ALICE);
      again.link.cancel();
      const cancelled = await finished;
      assert.deepEqual([cancelled.state, cancelled.error], ['relink_required', problem], 'a cancel leaves it as it was');

      const refused = await relinkAs(again.link, 'bob');
      assert.deepEqual([refused.state, refused.account, refused.error?.code], ['relink_required', ALICE, 'account_changed']);
      assert.deepEqual(await store.read('node1'), { ...before, problem });

      const fixed = await relinkAs(again.link, 'alice');
      assert.deepEqual([fixed.state, fixed.account, fixed.error], ['linked', ALICE, null]);
    });
  });

  describe('relink without a gap', () => {
    it('serves and refreshes the old tokens while the code is shown; a cancel leaves the link as it was', async () => {
      const { link, store, rec, before } = await linkedAsAlice();
      const { pending, finished } = await link.start();
      assert.equal(pending.state, 'pending');
      assert.deepEqual(pending.account, ALICE);
      assert.equal(pending.prompt, `To relink ${new URL(provider.issuer).host}, open ${new URL(provider.issuer).host}/device and enter ${pending.user_code}`);
      assert.equal(await link.accessToken(), before.tokens.accessToken);

      // The old access token reaches its refresh time while the code is still on show.
      await clock.advance(60_000);
      assert.equal(provider.count('refresh_token'), 1);
      assert.equal(link.snapshot().state, 'pending', 'still showing the code');
      const refreshed = (await store.read('node1'))!;
      assert.notEqual(refreshed.tokens.accessToken, before.tokens.accessToken);
      assert.equal(await link.accessToken(), refreshed.tokens.accessToken);
      assert.ok(await provider.isTokenActive(refreshed.tokens.accessToken));

      const snapshotBeforeCancel = { ...linkPart(link.snapshot()), state: 'linked' };
      link.cancel();
      const done = await finished;
      assert.deepEqual(linkPart(done), snapshotBeforeCancel);
      assert.deepEqual([done.state, done.account, done.error, done.user_code, done.prompt], ['linked', ALICE, null, null, null]);
      assert.deepEqual(await store.read('node1'), refreshed);
      assert.deepEqual(eventsAfterRelinkStart(rec), ['linking_started', 'refreshed']);
      assert.ok(provider.count(DEVICE_CODE_GRANT) >= 11, 'the device code was polled meanwhile');
    });

    it('a declined relink leaves the link as it was', async () => {
      const { link, store, rec, before, snapshot } = await linkedAsAlice();
      const { pending, finished } = await link.start();
      await provider.approveDevice(pending.user_code!, { deny: true });
      await clock.advance(5_000);
      const done = await finished;
      assert.deepEqual(linkPart(done), { ...linkPart(snapshot), error: done.error });
      assert.equal(done.error?.code, 'access_denied');
      assert.deepEqual(await store.read('node1'), before);
      assert.equal(await link.accessToken(), before.tokens.accessToken);
      assert.deepEqual(eventsAfterRelinkStart(rec), ['linking_started', 'access_denied']);
      assert.equal(clock.pendingTimers, 1, 'the refresh timer is armed again');
    });

    it('an expired code leaves the link as it was', async () => {
      const short = await startTestProvider({ deviceCodeTtl: 12 });
      try {
        const { link, store, rec, before, snapshot } = await linkedAsAlice({}, short);
        const { finished } = await link.start();
        const done = await clock.runUntilSettled(finished);
        assert.equal(done.error?.code, 'code_expired');
        assert.deepEqual(linkPart(done), { ...linkPart(snapshot), error: done.error });
        assert.deepEqual(await store.read('node1'), before);
        assert.equal(await link.accessToken(), before.tokens.accessToken);
        assert.deepEqual(eventsAfterRelinkStart(rec), ['linking_started', 'code_expired']);
      } finally {
        await short.close();
      }
    });

    it('a relink that cannot be saved leaves the link as it was; a token asked for meanwhile comes from the old grant', async () => {
      const { link, store, rec, gated, finished } = await relinkHeldAtWrite();
      // The old access token has run out while the new link is being written: the caller waits.
      const token = link.accessToken();
      await clock.settle();
      assert.equal(provider.count('refresh_token'), 0);
      gated.fail(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));

      const done = await finished;
      assert.deepEqual([done.state, done.account, done.error?.code], ['linked', ALICE, 'store_failed']);
      const served = await token;
      assert.equal(provider.count('refresh_token'), 1, 'the old grant was refreshed once');
      const stored = (await store.read('node1'))!;
      assert.equal(served, stored.tokens.accessToken);
      assert.deepEqual(stored.account, ALICE);
      assert.ok(await provider.isTokenActive(served));
      assert.deepEqual(gated.written.map((r) => r.tokens.accessToken), [served], 'only the refreshed old link was written');
      assert.ok(rec.eventTypes().includes('error'));
    });

    it('a refresh asked for while the new link is written waits for it and gets the new tokens', async () => {
      const { link, store, gated, finished, newRecord } = await relinkHeldAtWrite();
      const token = link.accessToken();
      const refreshed = link.refresh();
      await clock.settle();
      gated.release();
      assert.equal((await finished).state, 'linked');
      assert.equal(await token, newRecord.tokens.accessToken);
      assert.equal((await refreshed).state, 'linked');
      assert.equal(provider.count('refresh_token'), 0, 'the old grant was not refreshed');
      assert.deepEqual(await store.read('node1'), newRecord);
    });

    it('a refresh of the old link already under way lands first; the new link is what stays', async () => {
      const { link, store, snapshot } = await linkedAsAlice();
      const gated = gatedStore(store);
      const { pending, finished } = await link.start();
      await provider.approveDevice(pending.user_code!, { accountId: 'alice' });

      // The old token runs out and its refresh reaches the disk (held there) before the next poll.
      clock.setNow(Date.parse(snapshot.token_expires_at!) + 1_000);
      const heldRefresh = gated.holdNext();
      const oldToken = link.accessToken();
      const refreshedRecord = await heldRefresh;
      await clock.advance(0);
      await until(() => provider.count(DEVICE_CODE_GRANT) === 2, 'the poll that gets the new tokens');
      // Real time for the account to be read: without the wait for the refresh, the new link would be written now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(gated.written.length, 0, 'the new link waits for the refresh');
      gated.release();

      const done = await finished;
      assert.equal(done.state, 'linked');
      assert.equal(await oldToken, refreshedRecord.tokens.accessToken);
      assert.equal(gated.written.length, 2);
      assert.deepEqual(gated.written[0], refreshedRecord, 'the refresh landed first');
      const stored = (await store.read('node1'))!;
      assert.deepEqual(stored, gated.written[1], 'the new link was written last and stays');
      assert.notEqual(stored.tokens.refreshToken, refreshedRecord.tokens.refreshToken);
      assert.equal(await link.accessToken(), stored.tokens.accessToken);
      assert.ok(await provider.isTokenActive(stored.tokens.refreshToken!));
    });
  });
});
