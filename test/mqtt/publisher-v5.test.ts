/** MQTT v5 features of the publisher against a real mosquitto. */
import assert from 'node:assert/strict';
import { MqttPublisher, type RequestReply } from '../../src/mqtt/index.js';
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
    const live = await observe([`${B}/v5-rr/response/+`, 'speaker/replies/#']);

    await live.client.publishAsync(`${B}/v5-rr/request/status`, '{"transaction":"t-9"}', {
      qos: 1,
      properties: { responseTopic: 'speaker/replies/kitchen', correlationData: Buffer.from([1, 2, 3, 250]) },
    });
    const direct = await live.waitFor((m) => m.topic === 'speaker/replies/kitchen', 'the direct reply');
    const shared = await live.waitFor((m) => m.topic === `${B}/v5-rr/response/status`, 'the shared reply');
    assert.deepEqual([...(direct.properties?.correlationData ?? [])], [1, 2, 3, 250]);
    assert.equal(direct.properties?.contentType, 'application/json');
    assert.equal(direct.text, shared.text);
    const reply = JSON.parse(direct.text) as RequestReply;
    assert.deepEqual([reply.status, reply.data.state, reply.transaction], ['ok', 'linked', 't-9']);

    // Without a responseTopic there is only the shared reply.
    await live.client.publishAsync(`${B}/v5-rr/request/status`, '{"transaction":"t-10"}', { qos: 1 });
    await live.waitFor((m) => m.text.includes('"t-10"'), 'the second reply');
    assert.equal(live.on('speaker/replies/kitchen').length, 1);
    assert.equal(live.on(`${B}/v5-rr/response/status`).length, 2);
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
