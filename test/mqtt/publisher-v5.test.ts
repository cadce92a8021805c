/** MQTT v5 features of the publisher against a real mosquitto. */
import assert from 'node:assert/strict';
import { MAX_INCOMING_PACKET_BYTES, MqttPublisher, type RequestReply } from '../../src/mqtt/index.js';
import { makeLink, Observer, reaches, retainedOn, useMosquitto, whenState } from './links.js';

const B = 'account-link';
const V5 = { protocolVersion: 5 as const };

const connected = (publisher: MqttPublisher): Promise<void> => reaches(publisher, 'connected');

describe('MQTT publisher over v5 (mosquitto)', function () {
  const mosquitto = useMosquitto();
  const observe = (topics: string[]): Promise<Observer> => mosquitto.observe(topics);
  let publisher: MqttPublisher | undefined;

  afterEach(async () => {
    await publisher?.close();
    publisher = undefined;
  });

  it('marks JSON with contentType and lets code-bound topics expire with the code', async () => {
    const { link } = await makeLink('v5-expiry');
    await link.start();
    const codeExpiresAt = Date.parse(link.snapshot().code_expires_at!);
    // The publisher believes the code has 600 s left.
    let now = codeExpiresAt - 600_000;
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5, discovery: false, clock: { now: () => now } });
    const live = await observe([`${B}/v5-expiry/#`]);
    publisher.register(link);
    await live.waitFor((m) => m.topic.endsWith('/qr') && m.payload.length > 0, 'the QR code');

    const state = live.last(`${B}/v5-expiry/state`)!;
    assert.equal(state.properties?.contentType, 'application/json');
    assert.equal(state.properties?.messageExpiryInterval, undefined, 'the state does not expire');
    for (const field of ['user_code', 'prompt', 'user_code_spoken', 'prompt_spoken', 'qr']) {
      const message = live.last(`${B}/v5-expiry/${field}`)!;
      const expiry = message.properties?.messageExpiryInterval ?? 0;
      assert.ok(expiry > 590 && expiry <= 600, `${field} expires with the code (${expiry})`);
    }
    assert.equal(live.last(`${B}/v5-expiry/qr`)!.properties?.contentType, 'image/png');
    assert.equal(live.last(`${B}/v5-expiry/verification_uri`)!.properties?.messageExpiryInterval, undefined);
    assert.equal(live.on(`${B}/v5-expiry/event`).length, 0, 'the start happened before registering: no event replayed');

    // Now the code has two seconds left (mosquitto counts whole seconds): after them, the broker drops user_code, prompt and qr.
    await publisher.close();
    now = codeExpiresAt - 2000;
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5, discovery: false, clock: { now: () => now } });
    publisher.register(link);
    await connected(publisher);
    let retained = await retainedOn(mosquitto.broker.url, `${B}/v5-expiry/+`, V5);
    assert.ok(retained.has(`${B}/v5-expiry/user_code`), 'still there before it expires');
    await new Promise((resolve) => setTimeout(resolve, 3100));
    retained = await retainedOn(mosquitto.broker.url, `${B}/v5-expiry/+`, V5);
    assert.deepEqual(
      ['user_code', 'prompt', 'user_code_spoken', 'prompt_spoken', 'qr'].filter((field) => retained.has(`${B}/v5-expiry/${field}`)),
      [],
      'expired with the code',
    );
    assert.equal(retained.get(`${B}/v5-expiry/link_state`)?.text, 'pending', 'the rest stays');
    assert.ok(retained.has(`${B}/v5-expiry/state`));
    link.cancel();
    await whenState(link, 'unlinked');
  });

  it('answers on the request responseTopic with its correlationData, as well as on response/<action>', async () => {
    const { link } = await makeLink('v5-rr', { linked: true });
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5, discovery: false });
    publisher.register(link);
    await connected(publisher);
    const live = await observe([`${B}/v5-rr/response/+`, `${B}/replies/#`]);

    await live.client.publishAsync(`${B}/v5-rr/request/status`, '{"transaction":"t-9"}', {
      qos: 1,
      properties: { responseTopic: `${B}/replies/kitchen`, correlationData: Buffer.from([1, 2, 3, 250]) },
    });
    const direct = await live.waitFor((m) => m.topic === `${B}/replies/kitchen`, 'the direct reply');
    const shared = await live.waitFor((m) => m.topic === `${B}/v5-rr/response/status`, 'the shared reply');
    assert.deepEqual([...(direct.properties?.correlationData ?? [])], [1, 2, 3, 250]);
    assert.equal(direct.properties?.contentType, 'application/json');
    assert.equal(direct.text, shared.text);
    const reply = JSON.parse(direct.text) as RequestReply;
    assert.deepEqual([reply.status, reply.data.state, reply.transaction], ['ok', 'linked', 't-9']);

    // Without a responseTopic there is only the shared reply.
    await live.client.publishAsync(`${B}/v5-rr/request/status`, '{"transaction":"t-10"}', { qos: 1 });
    await live.waitFor((m) => m.text.includes('"t-10"'), 'the second reply');
    assert.equal(live.on(`${B}/replies/kitchen`).length, 1);
    assert.equal(live.on(`${B}/v5-rr/response/status`).length, 2);
  });

  it('sends no reply to a response topic outside the base topic or on a request topic, and warns; response/<action> still answers', async () => {
    const { link } = await makeLink('v5-rt', { linked: true });
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: (line: string) => warnings.push(line), error: () => undefined };
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5, discovery: false, logger });
    publisher.register(link);
    await connected(publisher);
    const live = await observe(['zigbee2mqtt/#', `${B}/#`]);
    const ask = (transaction: string, responseTopic: string) =>
      live.client.publishAsync(`${B}/v5-rt/request/status`, JSON.stringify({ transaction }), { qos: 1, properties: { responseTopic } });

    await ask('lock', 'zigbee2mqtt/front_door_lock/set');
    await ask('loop', `${B}/v5-rt/request/revoke`);
    // The hub publishes in order on one connection: once this reply is in, any earlier one would be too.
    await ask('last', `${B}/replies/kitchen`);
    await live.waitFor((m) => m.topic === `${B}/replies/kitchen`, 'the allowed direct reply');

    assert.deepEqual(live.on('zigbee2mqtt/front_door_lock/set'), [], 'nothing for the door lock');
    assert.deepEqual(
      live.messages.filter((m) => m.topic.includes('/request/')).map((m) => m.topic),
      [`${B}/v5-rt/request/status`, `${B}/v5-rt/request/status`, `${B}/v5-rt/request/status`],
      'the hub sent no request to itself',
    );
    assert.deepEqual(live.on(`${B}/v5-rt/response/revoke`), []);
    assert.deepEqual(
      live.on(`${B}/v5-rt/response/status`).map((m) => (JSON.parse(m.text) as RequestReply).transaction),
      ['lock', 'loop', 'last'],
      'every request is still answered on response/status',
    );
    assert.equal(link.snapshot().state, 'linked', 'not revoked by its own reply');
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0]!, /"zigbee2mqtt\/front_door_lock\/set"/);
    assert.match(warnings[1]!, new RegExp(`"${B}/v5-rt/request/revoke"`));
  });

  it('asks the broker for packets of at most 64 KiB: a 30 MiB request never reaches the hub, which keeps answering', async () => {
    const { link } = await makeLink('v5-big', { linked: true });
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5, discovery: false });
    publisher.register(link);
    await connected(publisher);
    const live = await observe([`${B}/v5-big/response/+`]);
    const padded = (transaction: string, bytes: number): Buffer => {
      const head = `{"transaction":"${transaction}","pad":"`;
      return Buffer.concat([Buffer.from(head), Buffer.alloc(bytes - head.length - 2, 0x61), Buffer.from('"}')]);
    };
    await live.client.publishAsync(`${B}/v5-big/request/revoke`, padded('huge', 30 * 1024 * 1024), { qos: 1 });
    await live.client.publishAsync(`${B}/v5-big/request/revoke`, padded('just-over', MAX_INCOMING_PACKET_BYTES + 1), { qos: 1 });
    // Under 64 KiB it is read, and refused by the request size check before any parsing.
    await live.client.publishAsync(`${B}/v5-big/request/status`, padded('mid', 5000), { qos: 1 });
    await live.client.publishAsync(`${B}/v5-big/request/status`, '{"transaction":"small"}', { qos: 1 });
    await live.waitFor((m) => m.text.includes('"small"'), 'the reply to the normal request');

    const replies = live.messages.map((m) => JSON.parse(m.text) as RequestReply);
    assert.deepEqual(
      replies.map((r) => [r.status, r.error?.code ?? null, r.transaction]),
      [
        ['error', 'bad_request', null],
        ['ok', null, 'small'],
      ],
    );
    assert.equal(link.snapshot().state, 'linked');
    assert.equal(publisher.status.state, 'connected', 'the connection was never dropped');
  });

  it('republishes everything after mosquitto restarts, and publishes offline on close', async () => {
    const a = await makeLink('v5-a', { linked: true });
    const b = await makeLink('v5-b');
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5, reconnectPeriod: 100 });
    publisher.register(a.link);
    publisher.register(b.link);
    await connected(publisher);

    await mosquitto.broker.stop();
    await reaches(publisher, 'disconnected');
    await mosquitto.broker.start();
    await connected(publisher);
    const retained = await retainedOn(mosquitto.broker.url, '#', V5);
    assert.equal(retained.get(`${B}/status`)?.text, 'online');
    assert.equal(JSON.parse(retained.get(`${B}/v5-a/state`)!.text).state, 'linked');
    assert.equal(JSON.parse(retained.get(`${B}/v5-b/state`)!.text).state, 'unlinked');
    assert.ok(retained.has('homeassistant/device/account_link_v5_a/config'));
    assert.ok(retained.has('homeassistant/device/account_link_v5_b/config'));

    await publisher.close();
    assert.equal((await retainedOn(mosquitto.broker.url, `${B}/status`, V5)).get(`${B}/status`)?.text, 'offline');
  });
});
