/** Home Assistant device discovery checked against HA's rules, over mosquitto (v5). */
import assert from 'node:assert/strict';
import { LINK_EVENT_TYPES } from '../../src/core/index.js';
import { BUTTON_PAYLOAD, MqttPublisher } from '../../src/mqtt/index.js';
import { discoveryPayload, ENGLISH_DISCOVERY_NAMES } from '../../src/mqtt/discovery.js';
import { deviceDiscoveryProblems, expandDiscovery } from './ha-rules.js';
import { makeLink, Observer, reaches, retainedOn, useMosquitto, whenState } from './links.js';

const B = 'account-link';
const PREFIX = 'homeassistant';
const V5 = { protocolVersion: 5 as const };

const connected = (publisher: MqttPublisher): Promise<void> => reaches(publisher, 'connected');

describe('Home Assistant discovery', function () {
  const mosquitto = useMosquitto();
  const observe = (topics: string[]): Promise<Observer> => mosquitto.observe(topics);
  let publisher: MqttPublisher | undefined;

  afterEach(async () => {
    await publisher?.close();
    publisher = undefined;
    // Leave no retained discovery behind for the next test.
    const cleaner = await Observer.connect(mosquitto.broker.url, [], V5);
    for (const [topic] of await retainedOn(mosquitto.broker.url, '#', V5)) await cleaner.client.publishAsync(topic, '', { qos: 1, retain: true });
    await cleaner.close();
  });

  it('the rules catch a broken payload (so the checks below can fail)', () => {
    const good = discoveryPayload({
      prefix: PREFIX, baseTopic: B, slug: 'x', provider: 'spotify', names: ENGLISH_DISCOVERY_NAMES, origin: { name: 'o' },
    });
    assert.deepEqual(deviceDiscoveryProblems(PREFIX, `${PREFIX}/device/account_link_x/config`, good), []);
    const broken = JSON.parse(JSON.stringify(good)) as { o?: unknown; cmps: Record<string, Record<string, unknown>> };
    delete broken.o;
    delete broken.cmps.account!.uniq_id;
    broken.cmps.qr!.url_t = 'x/url';
    broken.cmps.start!.stat_topic = 'x';
    broken.cmps['bad id'] = { p: 'sensor', uniq_id: 'ok', stat_t: 'a/#' };
    broken.cmps.removed = { p: 'buttn' };
    const problems = deviceDiscoveryProblems(PREFIX, `${PREFIX}/device/account.link/config`, broken);
    for (const expected of [/object id/, /origin/, /cmps.account: unique_id/, /image needs exactly one/, /unknown key "stat_topic"/, /component id/, /sensor needs state_topic/, /cmps.removed: platform/]) {
      assert.ok(problems.some((p) => expected.test(p)), `expected a problem matching ${expected}: ${problems.join('; ')}`);
    }
  });

  it('announces one valid device per link, with HA-safe ids for slugs with "-"', async () => {
    const alice = await makeLink('alice-spotify', { linked: true });
    const dash = await makeLink('-');
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5 });
    const events = await observe([`${B}/+/event`]);
    publisher.register(alice.link);
    publisher.register(dash.link);
    await connected(publisher);
    await dash.link.start();
    await events.waitFor((m) => m.topic === `${B}/-/event`, 'the linking_started event');

    const retained = await retainedOn(mosquitto.broker.url, `${PREFIX}/device/+/config`, V5);
    assert.deepEqual([...retained.keys()].sort(), [
      `${PREFIX}/device/account_link__/config`,
      `${PREFIX}/device/account_link_alice_spotify/config`,
      `${PREFIX}/device/account_links_account_link/config`, // the hub (links-topic.test.ts)
    ]);
    for (const [topic, message] of retained) {
      assert.equal(message.properties?.contentType, 'application/json');
      const payload = JSON.parse(message.text) as Record<string, unknown>;
      assert.deepEqual(deviceDiscoveryProblems(PREFIX, topic, payload), [], topic);
    }

    const { root, components } = expandDiscovery(JSON.parse(retained.get(`${PREFIX}/device/account_link_alice_spotify/config`)!.text));
    const L = `${B}/alice-spotify`;
    assert.deepEqual(Object.keys(components).sort(), [
      'account', 'code_expires_at', 'event', 'link_state', 'linked', 'qr', 'refresh', 'refresh_expires_at', 'revoke', 'start', 'token_expires_at',
      'user_code', 'verification_uri',
    ]);
    assert.deepEqual(
      Object.fromEntries(Object.entries(components).map(([id, c]) => [id, c.platform])),
      {
        link_state: 'sensor', account: 'sensor', user_code: 'sensor', verification_uri: 'sensor', code_expires_at: 'sensor',
        token_expires_at: 'sensor', refresh_expires_at: 'sensor', linked: 'binary_sensor', start: 'button', refresh: 'button', revoke: 'button', qr: 'image', event: 'event',
      },
    );
    for (const [id, component] of Object.entries(components)) {
      assert.equal(component.unique_id, `account_link_alice_spotify_${id}`);
      if (component.platform === 'sensor' || component.platform === 'binary_sensor') assert.equal(component.state_topic, `${L}/state`);
      if (component.platform === 'button') assert.equal(component.command_topic, `${L}/request/${id}`);
    }
    assert.equal(components.qr!.image_topic, `${L}/qr`);
    assert.equal(components.qr!.content_type, 'image/png');
    assert.equal(components.event!.state_topic, `${L}/event`);
    assert.deepEqual(components.event!.event_types, [...LINK_EVENT_TYPES]);
    assert.deepEqual(components.link_state!.options, ['unlinked', 'pending', 'linked', 'relink_required', 'error']);
    // The date the link needs a person again, as a Home Assistant timestamp.
    assert.equal(components.refresh_expires_at!.device_class, 'timestamp');
    assert.deepEqual((root.device as { ids: string[] }).ids, ['account_link_alice_spotify']);
    assert.equal((root.origin as { name: string }).name, 'node-red-contrib-account-link');
    assert.deepEqual(root.availability, [{ t: `${B}/status`, pl_avail: 'online', pl_not_avail: 'offline' }]);

    // The event payload names a listed event type (ha-templates.test.ts renders the value templates).
    const event = JSON.parse(events.last(`${B}/-/event`)!.text) as { event_type: string };
    assert.ok((components.event!.event_types as string[]).includes(event.event_type));
    dash.link.cancel();
    await whenState(dash.link, 'unlinked');
  });

  it('binds the buttons to the request topics', async () => {
    const { link } = await makeLink('button-test', { linked: true });
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5 });
    publisher.register(link);
    await connected(publisher);
    const ha = await observe([`${B}/button-test/response/+`]);
    const config = expandDiscovery(JSON.parse((await retainedOn(mosquitto.broker.url, `${PREFIX}/device/account_link_button_test/config`, V5)).values().next().value!.text));
    const start = config.components.start!;
    assert.equal(start.payload_press, BUTTON_PAYLOAD);
    // What HA does when the button is pressed:
    await ha.client.publishAsync(String(start.command_topic), String(start.payload_press), { qos: 1, retain: false });
    const reply = await ha.waitFor((m) => m.topic === `${B}/button-test/response/start`, 'the start reply');
    assert.equal(JSON.parse(reply.text).status, 'ok');
    assert.equal(link.snapshot().state, 'pending');
    link.cancel();
    await whenState(link, 'linked');
  });

  it('announces no working button when the hub answers only status, and a button pressed anyway is refused', async () => {
    const { link } = await makeLink('status-only', { linked: true });
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5, commands: 'status' });
    publisher.register(link);
    await connected(publisher);
    const topic = `${PREFIX}/device/account_link_status_only/config`;
    const payload = JSON.parse((await retainedOn(mosquitto.broker.url, topic, V5)).get(topic)!.text) as Record<string, unknown>;
    assert.deepEqual(deviceDiscoveryProblems(PREFIX, topic, payload), []);
    const { components } = expandDiscovery(payload);
    assert.deepEqual(
      Object.entries(components).filter(([, c]) => c.platform === 'button').map(([id, c]) => [id, Object.keys(c)]),
      [['start', ['platform']], ['refresh', ['platform']], ['revoke', ['platform']]],
      'each button is announced by its platform alone, which removes it in HA',
    );
    const ha = await observe([`${B}/status-only/response/+`]);
    await ha.client.publishAsync(`${B}/status-only/request/revoke`, BUTTON_PAYLOAD, { qos: 1 });
    const reply = JSON.parse((await ha.waitFor((m) => m.topic.endsWith('/response/revoke'), 'the revoke reply')).text) as { status: string; error: { code: string } };
    assert.deepEqual([reply.status, reply.error.code, link.snapshot().state], ['error', 'forbidden', 'linked']);
  });

  it('announces again when HA says online (not for a retained birth), and removes a deleted or renamed link', async () => {
    const watcher = await observe([`${PREFIX}/device/+/config`, `${B}/kept/response/status`]);
    // A retained birth left on the broker must not double the announce on connect.
    await watcher.client.publishAsync(`${PREFIX}/status`, 'online', { qos: 1, retain: true });
    const kept = await makeLink('kept', { linked: true, id: 'node-kept' });
    const renamed = await makeLink('old-name', { id: 'node-renamed' });
    const deleted = await makeLink('deleted', { id: 'node-deleted' });
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, ...V5 });
    for (const l of [kept, renamed, deleted]) publisher.register(l.link);
    await connected(publisher);
    const keptTopic = `${PREFIX}/device/account_link_kept/config`;
    await watcher.waitFor((m) => m.topic === keptTopic, 'the first announce');

    await watcher.client.publishAsync(`${PREFIX}/status`, 'offline', { qos: 1 });
    await watcher.client.publishAsync(`${PREFIX}/status`, 'online', { qos: 1 });
    // The publisher handles messages in order: once this reply is here, every announce is too.
    await watcher.client.publishAsync(`${B}/kept/request/status`, '', { qos: 1 });
    await watcher.waitFor((m) => m.topic === `${B}/kept/response/status`, 'the status reply');
    assert.equal(watcher.on(keptTopic).length, 2, 'once on connect, once for the live birth');

    // Deleted: its device goes. Renamed: the same node id under a new slug replaces the old device.
    publisher.deregister(deleted.link, { removed: true });
    publisher.deregister(renamed.link);
    const newName = await makeLink('new-name', { id: 'node-renamed', store: undefined });
    publisher.register(newName.link);
    await watcher.waitFor((m) => m.topic === `${PREFIX}/device/account_link_new_name/config`, 'the renamed device');
    const retained = await retainedOn(mosquitto.broker.url, '#', V5);
    const devices = [...retained.keys()].filter((t) => t.startsWith(`${PREFIX}/device/`)).sort();
    assert.deepEqual(devices, [
      `${PREFIX}/device/account_link_kept/config`,
      `${PREFIX}/device/account_link_new_name/config`,
      `${PREFIX}/device/account_links_account_link/config`,
    ]);
    assert.deepEqual([...retained.keys()].filter((t) => t.includes('/old-name/') || t.includes('/deleted/')), []);
    assert.ok(retained.has(`${B}/new-name/state`));
    await watcher.client.publishAsync(`${PREFIX}/status`, '', { qos: 1, retain: true });
  });
});
