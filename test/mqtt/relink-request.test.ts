/** `request/start` with `replace_account` over MQTT (aedes), on a Link linked at a real authorization server. */
import assert from 'node:assert/strict';
import type { Link } from '../../src/core/link.js';
import type { Snapshot } from '../../src/core/snapshot.js';
import { MqttPublisher, type RequestReply } from '../../src/mqtt/index.js';
import { startAedes, type AedesBroker } from '../helpers/brokers.js';
import { makeLink, useRealProvider } from '../helpers/core-fixtures.js';
import type { ManualClock } from '../helpers/manual-clock.js';
import type { TestProvider } from '../../demo/sign-in-server.js';
import { Observer, reaches } from './links.js';

const B = 'account-link';

describe('MQTT request/start with replace_account (real provider, aedes)', function () {
  const suite = useRealProvider();
  let provider: TestProvider;
  let broker: AedesBroker;
  let publisher: MqttPublisher;
  let observer: Observer;
  let link: Link;
  let clock: ManualClock;

  beforeEach(async () => {
    ({ provider, clock } = suite);
    broker = await startAedes();
    ({ link } = await makeLink({ settings: { provider: 'oidc', issuer: provider.issuer, clientId: provider.clientId }, clock, slug: 'den' }));
    suite.links.push(link);
    await link.load();
    publisher = new MqttPublisher({ broker: broker.url, clientId: 'hub', protocolVersion: 4, reconnectPeriod: 100, discovery: false });
    publisher.register(link);
    await reaches(publisher, 'connected');
    observer = await Observer.connect(broker.url, [`${B}/den/response/+`]);
  });
  afterEach(async () => {
    await observer.close();
    await publisher.close();
    await broker.stop();
  });

  async function ask(payload: string): Promise<RequestReply> {
    const count = observer.on(`${B}/den/response/start`).length;
    await observer.client.publishAsync(`${B}/den/request/start`, payload, { qos: 1 });
    await observer.waitFor(() => observer.on(`${B}/den/response/start`).length > count, 'the start response');
    return JSON.parse(observer.on(`${B}/den/response/start`).at(-1)!.text) as RequestReply;
  }

  /** Starts over MQTT with `payload`, signs in as `accountId`; resolves with how the attempt ended. */
  async function linkAs(accountId: string, payload: string): Promise<Snapshot> {
    const reply = await ask(payload);
    assert.equal(reply.status, 'ok', JSON.stringify(reply.error));
    const ended = new Promise<Snapshot>((resolve) => {
      const listener = (snapshot: Snapshot): void => {
        if (snapshot.state === 'pending') return;
        link.off('snapshot', listener);
        resolve(snapshot);
      };
      link.on('snapshot', listener);
    });
    await provider.approveDevice(reply.data.user_code!, { accountId });
    await clock.advance(5_000);
    return ended;
  }

  it('refuses another account unless the request says replace_account: true; refuses a replace_account that is not a boolean', async () => {
    assert.deepEqual((await linkAs('alice', '')).account, { id: 'alice', name: 'Alice' });

    const refused = await linkAs('bob', '{"transaction":"t1"}');
    assert.deepEqual([refused.state, refused.account?.id, refused.error?.code], ['linked', 'alice', 'account_changed']);

    const bad = await ask('{"replace_account":"yes","transaction":"t2"}');
    assert.deepEqual([bad.status, bad.error?.code, bad.data.state], ['error', 'bad_request', 'linked']);
    assert.match(bad.error!.message, /replace_account must be true or false/);

    const switched = await linkAs('bob', '{"replace_account":true,"transaction":"t3"}');
    assert.deepEqual([switched.state, switched.account?.id, switched.error], ['linked', 'bob', null]);
    assert.equal(observer.on(`${B}/den/response/start`).at(-1)!.text.includes('"t3"'), true);
  });
});
