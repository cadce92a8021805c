import assert from 'node:assert/strict';
import type { TestProvider } from '../../demo/sign-in-server.js';
import type { BonjourPublisher, PairingAdvertOptions } from '../../src/mdns/index.js';
import { accountLinkNodes, collector, helper, node, oidcAccount, onTab, until, useNodeRed, useTestProvider, type Msg, type TestFlow } from './fixtures.js';

// The built nodes call the advert through this module's export, so the test can hand it a stand-in
// for bonjour-service and see what is announced, without any multicast traffic.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const advertModule = require('../../dist/mdns/pairing-advert.js') as typeof import('../../src/mdns/pairing-advert.js');

/** What the fake bonjour saw: services published, and how many of them were withdrawn. */
function fakeMdns(): { published: { txt?: Record<string, string> }[]; stopped: number; restore(): void } {
  const seen = { published: [] as { txt?: Record<string, string> }[], stopped: 0 };
  const bonjour: BonjourPublisher = {
    publish(service) {
      seen.published.push(service);
      return { stop: (done?: () => void) => (seen.stopped++, done?.()) };
    },
    destroy: (done) => done?.(),
  };
  const original = advertModule.advertisePairingPage;
  advertModule.advertisePairingPage = (options: PairingAdvertOptions) => original({ ...options, bonjour });
  return Object.assign(seen, { restore: () => void (advertModule.advertisePairingPage = original) });
}

describe('mDNS advert of the pairing page (settings accountLink.mdns on)', function () {
  this.timeout(60_000);
  const testProvider = useTestProvider();
  let provider: TestProvider;
  let mdns: ReturnType<typeof fakeMdns>;
  beforeEach(() => {
    provider = testProvider();
    mdns = fakeMdns();
  });
  afterEach(() => mdns.restore());
  useNodeRed({});

  /** Sends a message to each status node and waits for the answers: then every account node is loaded. */
  async function deployed(statusNodes: string[]): Promise<void> {
    const out = collector('status-out');
    for (const id of statusNodes) node(id).receive({ payload: '' });
    await until(() => out.length === statusNodes.length, 'every account loaded');
  }

  it('advertises once a link without a device flow shows a code (custom, flow auto), not before, and withdraws it', async () => {
    const flow = onTab([
      oidcAccount(provider, { id: 'device', link: 'by-device' }),
      {
        id: 'pairing',
        type: 'account-link',
        link: 'by-pairing',
        provider: 'custom',
        authorizationEndpoint: provider.endpoints.authorization,
        tokenEndpoint: provider.endpoints.token,
        clientId: provider.clientId,
        flow: 'auto',
        publicUrl: 'http://127.0.0.1:1880',
      },
      { id: 'start-device', type: 'account-link-start', account: 'device', wires: [['out']] },
      { id: 'start-pairing', type: 'account-link-start', account: 'pairing', wires: [['out']] },
      { id: 'status-device', type: 'account-link-status', account: 'device', wires: [['status-out']] },
      { id: 'status-pairing', type: 'account-link-status', account: 'pairing', wires: [['status-out']] },
      { id: 'out', type: 'helper' },
      { id: 'status-out', type: 'helper' },
    ]);
    await helper.load(accountLinkNodes, flow as TestFlow);
    await deployed(['status-device', 'status-pairing']);
    assert.equal(mdns.published.length, 0, 'nothing says yet that either link needs the pairing page');

    const out = collector('out');
    const pendingOf = (link: string) => (): Msg | undefined => out.find((m) => m.topic === link && m.payload.state === 'pending');
    node('start-device').receive({ payload: '' });
    await until(pendingOf('by-device'), 'a device-flow code');
    assert.equal(mdns.published.length, 0, 'a device flow needs no pairing page');

    node('start-pairing').receive({ payload: '' });
    const pending = await until(pendingOf('by-pairing'), 'a pairing-page code');
    assert.match(pending.payload.verification_uri, /\/link$/);
    assert.deepEqual(mdns.published.map((s) => s.txt), [{ path: '/link' }]);

    await helper.unload();
    await until(() => mdns.stopped === 1 || undefined, 'the advert withdrawn');
  });

  it('advertises a Spotify link at deploy: its profile always uses the pairing page', async () => {
    const flow = onTab([
      { id: 'acct-spotify', type: 'account-link', link: 'alice-spotify', provider: 'spotify', clientId: 'abc', flow: 'auto' },
      { id: 'status', type: 'account-link-status', account: 'acct-spotify', wires: [['status-out']] },
      { id: 'status-out', type: 'helper' },
    ]);
    await helper.load(accountLinkNodes, flow as TestFlow);
    await deployed(['status']);
    assert.deepEqual(mdns.published.map((s) => s.txt), [{ path: '/link' }]);
  });
});
