/** The MQTT contract over MQTT 3.1.1 against aedes, in process. */
import assert from 'node:assert/strict';
import { MqttPublisher, type RequestReply } from '../../src/mqtt/index.js';
import { startAedes, type AedesBroker } from '../helpers/brokers.js';
import {
  ACCESS_TOKEN,
  makeLink,
  Observer,
  reaches,
  REFRESH_TOKEN,
  removeTempDirs,
  retainedOn,
  ROTATED_REFRESH_TOKEN,
  tokenEndpointAgent,
  whenState,
} from './links.js';

const B = 'account-link';
const CLIENT_ID = 'publisher-under-test';

/**
 * Topics (and payload text) the publisher's own client sent, in the order the broker read them
 * (the authorization hook runs per packet as it arrives; the 'publish' event may be reordered).
 */
function recordPublishes(broker: AedesBroker): { topic: string; text: string }[] {
  const seen: { topic: string; text: string }[] = [];
  broker.aedes.authorizePublish = (client, packet, done) => {
    if (client?.id === CLIENT_ID) seen.push({ topic: packet.topic, text: packet.payload.toString() });
    done(null);
  };
  return seen;
}

describe('MQTT publisher over 3.1.1 (aedes)', function () {
  let broker: AedesBroker;
  let publisher: MqttPublisher;
  const observers: Observer[] = [];

  async function observe(topics: string[]): Promise<Observer> {
    const observer = await Observer.connect(broker.url, topics);
    observers.push(observer);
    return observer;
  }

  function newPublisher(options: Partial<ConstructorParameters<typeof MqttPublisher>[0]> = {}): MqttPublisher {
    return new MqttPublisher({
      broker: broker.url,
      clientId: CLIENT_ID,
      protocolVersion: 4,
      reconnectPeriod: 100,
      discovery: false,
      ...options,
    });
  }

  beforeEach(async () => {
    broker = await startAedes();
  });

  afterEach(async () => {
    await Promise.all(observers.splice(0).map((o) => o.close()));
    await publisher?.close();
    await broker.stop();
    await removeTempDirs();
  });

  it('publishes availability, retained state and field topics, QR and events through a linking', async () => {
    const { link, pairing } = await makeLink('alice-spotify', { linked: true });
    const live = await observe([`${B}/#`]);
    publisher = newPublisher();
    publisher.register(link);
    await live.waitFor((m) => m.topic === `${B}/alice-spotify/state`, 'the first state');

    let retained = await retainedOn(broker.url, `${B}/#`);
    assert.equal(retained.get(`${B}/status`)?.text, 'online');
    const first = JSON.parse(retained.get(`${B}/alice-spotify/state`)!.text);
    assert.equal(first.state, 'linked');
    assert.deepEqual(first.account, { id: 'alice-id', name: 'Alice' });
    assert.equal(retained.get(`${B}/alice-spotify/link_state`)?.text, 'linked');
    assert.equal(retained.get(`${B}/alice-spotify/account`)?.text, 'Alice');
    assert.equal(retained.get(`${B}/alice-spotify/token_expires_at`)?.text, first.token_expires_at);
    assert.ok(first.refresh_expires_at, 'the date the link needs a person again');
    assert.equal(retained.get(`${B}/alice-spotify/refresh_expires_at`)?.text, first.refresh_expires_at);
    // Empty payloads clear: no code, so nothing retained for it.
    for (const field of ['user_code', 'verification_uri', 'code_expires_at', 'prompt', 'qr']) {
      assert.equal(retained.has(`${B}/alice-spotify/${field}`), false, field);
    }

    const { pending } = await link.start();
    const qr = await live.waitFor((m) => m.topic === `${B}/alice-spotify/qr` && m.payload.length > 0, 'the QR code');
    assert.deepEqual([...qr.payload.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    retained = await retainedOn(broker.url, `${B}/alice-spotify/+`);
    assert.equal(retained.get(`${B}/alice-spotify/link_state`)?.text, 'pending');
    assert.equal(retained.get(`${B}/alice-spotify/user_code`)?.text, pending.user_code);
    assert.equal(retained.get(`${B}/alice-spotify/verification_uri`)?.text, pending.verification_uri);
    assert.equal(retained.get(`${B}/alice-spotify/code_expires_at`)?.text, pending.code_expires_at);
    assert.equal(retained.get(`${B}/alice-spotify/prompt`)?.text, pending.prompt);
    assert.ok(retained.get(`${B}/alice-spotify/qr`)!.payload.equals(qr.payload));

    pairing.approve();
    await whenState(link, 'linked');
    await live.waitFor((m) => m.topic === `${B}/alice-spotify/event` && JSON.parse(m.text).event_type === 'linked', 'linked event');
    await live.waitFor((m) => m.topic === `${B}/alice-spotify/qr` && m.payload.length === 0, 'the QR cleared');
    retained = await retainedOn(broker.url, `${B}/alice-spotify/+`);
    assert.equal(retained.get(`${B}/alice-spotify/link_state`)?.text, 'linked');
    for (const field of ['user_code', 'verification_uri', 'code_expires_at', 'prompt', 'qr']) {
      assert.equal(retained.has(`${B}/alice-spotify/${field}`), false, `${field} cleared`);
    }
    assert.equal(retained.has(`${B}/alice-spotify/event`), false, 'events are not retained');

    const states = live.on(`${B}/alice-spotify/state`).map((m) => JSON.parse(m.text).state);
    assert.deepEqual(states, ['linked', 'pending', 'linked']);
    const events = live.on(`${B}/alice-spotify/event`).map((m) => JSON.parse(m.text).event_type);
    assert.deepEqual(events, ['linking_started', 'linked']);
    assert.equal(live.on(`${B}/alice-spotify/user_code`).length, 3, 'cleared, set, cleared: unchanged fields are not resent');
    for (const message of live.messages) {
      for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN]) assert.ok(!message.payload.includes(secret), `${message.topic} leaks a token`);
    }
  });

  it('leaves a Last Will of offline when its socket dies, then comes back online', async () => {
    const { link } = await makeLink('kitchen', { linked: true });
    const live = await observe([`${B}/status`]);
    publisher = newPublisher();
    publisher.register(link);
    await live.waitFor((m) => m.text === 'online', 'online');

    assert.ok(broker.dropClient(CLIENT_ID), 'the publisher was connected');
    await live.next((m) => m.text === 'offline', 'the will');
    await live.next((m) => m.text === 'online', 'online again');
    assert.deepEqual(
      live.messages.map((m) => m.text),
      ['online', 'offline', 'online'],
    );
    assert.equal((await retainedOn(broker.url, `${B}/status`)).get(`${B}/status`)?.text, 'online');
  });

  it('republishes online first and then every link after a broker restart, queueing nothing meanwhile', async () => {
    const a = await makeLink('a', { linked: true });
    const b = await makeLink('b');
    publisher = newPublisher();
    publisher.register(a.link);
    publisher.register(b.link);
    await reaches(publisher, 'connected');

    await broker.stop();
    await reaches(publisher, 'disconnected');
    // Changes while the broker is away are not queued: the reconnect sends the state of that moment.
    await b.link.start();
    b.link.cancel();
    await whenState(b.link, 'unlinked');
    await a.link.start();

    await broker.start();
    const seen = recordPublishes(broker);
    await reaches(publisher, 'connected');
    const retained = await retainedOn(broker.url, `${B}/#`);
    assert.equal(retained.get(`${B}/status`)?.text, 'online');
    assert.equal(JSON.parse(retained.get(`${B}/a/state`)!.text).state, 'pending');
    assert.equal(JSON.parse(retained.get(`${B}/b/state`)!.text).state, 'unlinked');
    assert.equal(retained.get(`${B}/a/user_code`)?.text, a.link.snapshot().user_code);

    assert.deepEqual(seen[0], { topic: `${B}/status`, text: 'online' }, 'online comes first');
    assert.equal(seen.filter((m) => m.topic === `${B}/a/state`).length, 1, 'one state for a');
    assert.equal(seen.filter((m) => m.topic === `${B}/b/state`).length, 1, 'one state for b');
    assert.equal(seen.filter((m) => m.topic.endsWith('/event')).length, 0, 'events from the outage are not replayed');
  });

  it('answers requests on response topics with the transaction', async () => {
    const agent = tokenEndpointAgent();
    const { link } = await makeLink('den', { linked: true, agent });
    publisher = newPublisher();
    publisher.register(link);
    await reaches(publisher, 'connected');
    const live = await observe([`${B}/den/response/+`]);

    const ask = async (action: string, payload: string): Promise<RequestReply> => {
      const count = live.on(`${B}/den/response/${action}`).length;
      await live.client.publishAsync(`${B}/den/request/${action}`, payload, { qos: 1 });
      await live.waitFor(() => live.on(`${B}/den/response/${action}`).length > count, `${action} response`);
      return JSON.parse(live.on(`${B}/den/response/${action}`).at(-1)!.text) as RequestReply;
    };

    let reply = await ask('status', '{"transaction":"t-1"}');
    assert.deepEqual([reply.status, reply.data.state, reply.transaction, reply.error], ['ok', 'linked', 't-1', null]);

    reply = await ask('refresh', JSON.stringify({ transaction: 42 }));
    assert.deepEqual([reply.status, reply.data.state, reply.transaction], ['ok', 'linked', 42]);

    reply = await ask('start', '');
    assert.deepEqual([reply.status, reply.data.state, reply.transaction], ['ok', 'pending', null]);
    assert.match(reply.data.user_code ?? '', /^BDWP-/);

    reply = await ask('cancel', '{}');
    assert.deepEqual([reply.status, reply.data.state, reply.data.user_code], ['ok', 'linked', null]);

    reply = await ask('revoke', '{"transaction":"bye"}');
    assert.deepEqual([reply.status, reply.data.state, reply.transaction, reply.manageUrl], ['ok', 'unlinked', 'bye', null]);
    assert.deepEqual(Object.keys(reply).sort(), ['data', 'error', 'manageUrl', 'status', 'transaction'], 'the shape of every reply');

    reply = await ask('refresh', '{"transaction":"again"}');
    assert.equal(reply.status, 'error');
    assert.equal(reply.error?.code, 'not_linked');
    assert.equal(reply.data.state, 'unlinked');
    assert.equal(reply.transaction, 'again');

    for (const message of live.messages) {
      for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN, ROTATED_REFRESH_TOKEN]) {
        assert.ok(!message.payload.includes(secret), `${message.topic} leaks a token`);
      }
    }
    await agent.close();
  });

  it('answers bad payloads with an error, ignores retained requests and unknown links, and keeps working', async () => {
    const { link } = await makeLink('hall', { linked: true });
    const live = await observe([`${B}/+/response/+`]);
    const send = (topic: string, payload: string | Buffer, retain = false) =>
      live.client.publishAsync(`${B}/${topic}`, payload, { qos: 1, retain });
    // Left on the broker before the publisher subscribes: it must not start linking on connect.
    await send('hall/request/start', '{"transaction":"stale"}', true);
    publisher = newPublisher();
    publisher.register(link);
    await reaches(publisher, 'connected');

    await send('hall/request/start', 'PRESS');
    await send('hall/request/start', '[1,2]');
    await send('hall/request/status', 'null');
    await send('hall/request/status', Buffer.alloc(5000, 0x20));
    await send('hall/request/frobnicate', '{"transaction":5}');
    await send('nobody/request/status', '');
    await send('hall/request/status', '{"transaction":"last"}');
    await live.waitFor((m) => m.text.includes('"last"'), 'the last reply');

    const replies = live.messages.map((m) => ({ topic: m.topic, ...(JSON.parse(m.text) as RequestReply) }));
    assert.deepEqual(
      replies.map((r) => [r.topic.slice(B.length + 1), r.status, r.error?.code ?? null, r.transaction]),
      [
        ['hall/response/start', 'error', 'bad_request', null],
        ['hall/response/start', 'error', 'bad_request', null],
        ['hall/response/status', 'error', 'bad_request', null],
        ['hall/response/status', 'error', 'bad_request', null],
        ['hall/response/frobnicate', 'error', 'unknown_action', 5],
        ['hall/response/status', 'ok', null, 'last'],
      ],
    );
    assert.equal(link.snapshot().state, 'linked', 'no bad or retained request started anything');
    for (const reply of replies) assert.equal(reply.data.link, 'hall');
    await send('hall/request/start', '', true);
  });

  it('with commands none, subscribes to no request topic: a revoke is never read, and the state still goes out', async () => {
    const { link } = await makeLink('hall', { linked: true });
    const subscribed: string[] = [];
    broker.aedes.authorizeSubscribe = (client, subscription, done) => {
      if (client?.id === CLIENT_ID) subscribed.push(subscription.topic);
      done(null, subscription);
    };
    const live = await observe([`${B}/#`]);
    publisher = newPublisher({ commands: 'none', discovery: true });
    publisher.register(link);
    await reaches(publisher, 'connected');
    await live.waitFor((m) => m.topic === `${B}/hall/state`, 'the state');
    assert.deepEqual(subscribed, ['homeassistant/status'], 'only Home Assistant\'s birth');

    await live.client.publishAsync(`${B}/hall/request/revoke`, '{"transaction":"x"}', { qos: 1 });
    // A marker through the same broker after the revoke: by then the hub would have had it.
    await live.client.publishAsync(`${B}/marker`, 'end', { qos: 1 });
    await live.waitFor((m) => m.topic === `${B}/marker`, 'the marker');
    assert.deepEqual(live.messages.filter((m) => m.topic.includes('/response/')), []);
    assert.equal(link.snapshot().state, 'linked');
  });

  it('clears every retained topic of a removed link, and publishes offline on a clean close', async () => {
    const keep = await makeLink('keep', { linked: true });
    const gone = await makeLink('gone', { linked: true });
    publisher = newPublisher({ discovery: true });
    publisher.register(keep.link);
    publisher.register(gone.link);
    await reaches(publisher, 'connected');
    await gone.link.start();
    let retained = await retainedOn(broker.url, '#');
    assert.ok(retained.has(`${B}/gone/state`));
    assert.ok(retained.has(`${B}/gone/user_code`));
    assert.ok(retained.has('homeassistant/device/account_link_gone/config'));

    const seen = recordPublishes(broker);
    publisher.deregister(gone.link, { removed: true });
    await keep.link.start(); // something after the clears, to wait on
    const live = await observe([`${B}/keep/state`]);
    await live.waitFor((m) => JSON.parse(m.text).state === 'pending', 'keep pending');
    retained = await retainedOn(broker.url, '#');
    assert.deepEqual(
      [...retained.keys()].filter((topic) => topic.includes('gone')),
      [],
      'nothing of the removed link is left',
    );
    assert.ok(retained.has(`${B}/keep/state`));
    assert.ok(retained.has('homeassistant/device/account_link_keep/config'));
    // The device goes first, so Home Assistant never renders its templates against an empty state.
    const cleared = seen.filter((m) => m.topic.includes('gone') && m.text === '').map((m) => m.topic);
    assert.equal(cleared[0], 'homeassistant/device/account_link_gone/config');
    assert.ok(cleared.includes(`${B}/gone/state`));

    // Deregistering without removal (a redeploy) keeps the retained state.
    publisher.deregister(keep.link);
    await publisher.close();
    retained = await retainedOn(broker.url, `${B}/#`);
    assert.equal(retained.get(`${B}/status`)?.text, 'offline');
    assert.ok(retained.has(`${B}/keep/state`));
  });
});
