import assert from 'node:assert/strict';
import { accountLinkNodes, collector, helper, linkByDevice, node, oidcAccount, onTab, until, useNodeRed, useTestProvider, type TestFlow } from './fixtures.js';

// The built nodes' own TokenStore class, so the test can make the disk refuse a write.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { TokenStore } = require('../../dist/core/index.js') as typeof import('../../src/core/index.js');

describe('token status node with watch', function () {
  this.timeout(60_000);
  const provider = useTestProvider({ accessTokenTtl: 3600 });
  // The refresh right after linking must reach the provider (core tests cover the 10 s spacing).
  useNodeRed({ mdns: false, refreshRequests: 'unspaced' });

  /** An account with a link, refresh and watching status node; what the watcher sends arrives at `watched`. */
  async function load(): Promise<void> {
    const flow = onTab([
      oidcAccount(provider()),
      { id: 'start', type: 'account-link-start', account: 'acct', wires: [['out']] },
      { id: 'refresh', type: 'account-link-refresh', account: 'acct', wires: [['out']] },
      { id: 'watch', type: 'account-link-status', account: 'acct', watch: true, wires: [['watched']] },
      { id: 'out', type: 'helper' },
      { id: 'watched', type: 'helper' },
    ]);
    await helper.load(accountLinkNodes, flow as TestFlow);
  }

  it('sends each event of a change with the snapshot of that change (refreshed, then the disk refusing it)', async () => {
    await load();
    const out = collector('out');
    const watched = collector('watched');
    const linked = await linkByDevice(provider(), 'start', out);
    await until(() => watched.find((m) => m.event?.event_type === 'linked'), 'the linked event');

    const write = TokenStore.prototype.write;
    TokenStore.prototype.write = async () => {
      throw new Error('ENOSPC: no space left on device');
    };
    try {
      watched.length = 0;
      node('refresh').receive({ payload: '' });
      await until(() => watched.find((m) => m.event?.event_type === 'error'), 'the error event');
    } finally {
      TokenStore.prototype.write = write;
    }

    const types = watched.map((m) => m.event?.event_type);
    assert.deepEqual(types, ['refreshed', 'error'], 'one message per event of the change, in order');
    const [refreshed, error] = watched;
    assert.equal(refreshed!.payload.error?.code, 'store_failed', 'the refreshed message carries the snapshot after the change');
    assert.equal(refreshed!.payload.token_expires_at, refreshed!.event.token_expires_at);
    assert.notEqual(refreshed!.payload.updated_at, linked.payload.updated_at);
    assert.deepEqual(refreshed!.payload, error!.payload, 'both events belong to the same change');
    for (const m of watched) {
      assert.equal(m.topic, 'alice-test');
      assert.equal(m.payload.updated_at, m.event.at, 'an event is sent with the snapshot it produced');
    }
  });

  it('sends a change without events once, without msg.event', async () => {
    await load();
    const watched = collector('watched');
    node('start').receive({ payload: '' });
    await until(() => watched.find((m) => m.payload.state === 'pending'), 'pending');
    // Cancelling ends the attempt without an event: the person asked for it.
    node('start').receive({ payload: 'cancel' });
    const back = await until(() => watched.find((m) => m.payload.state === 'unlinked'), 'unlinked after cancel');
    assert.equal('event' in back, false);
    assert.deepEqual(
      watched.map((m) => [m.payload.state, m.event?.event_type]),
      [['pending', 'linking_started'], ['unlinked', undefined]],
    );
  });
});
