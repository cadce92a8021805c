/**
 * The `account-link-mqtt` config node in Node-RED (node-red-node-test-helper, built dist/): the
 * `account-link` node registers its Link with it, its own status badge, and the mDNS admin route.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Bonjour } from 'bonjour-service';
import helper from 'node-red-node-test-helper';
import { freePort, startAedes, type AedesBroker } from '../helpers/brokers.js';
import { until } from '../helpers/until.js';
import { removeTempDirs, retainedOn, tempDir } from './links.js';

helper.init(require.resolve('node-red'));
/* eslint-disable @typescript-eslint/no-require-imports */
const accountLinkNodes = require('../../dist/nodes/account-link.js');
const mqttNodes = require('../../dist/nodes/account-link-mqtt.js');
/* eslint-enable @typescript-eslint/no-require-imports */

type Flow = Parameters<typeof helper.load>[1];
interface Badge {
  fill?: string;
  shape?: string;
  text?: string;
}
interface MqttNode {
  register(link: unknown): void;
  deregister(link: unknown, removed?: boolean): void;
  /** The test helper's spy on Node.prototype.status, shared by every node. */
  status: { getCalls(): { thisValue: unknown; args: unknown[] }[] };
}

/** The badges `node` has shown, in order. */
function badgesOf(node: MqttNode): Badge[] {
  return node.status
    .getCalls()
    .filter((call) => call.thisValue === node)
    .map((call) => call.args[0] as Badge);
}
interface AccountNode {
  ready: Promise<unknown>;
}

function flow(broker: AedesBroker): Flow {
  return [
    { id: 'tab', type: 'tab', label: 'mqtt' },
    {
      id: 'broker',
      type: 'account-link-mqtt',
      broker: broker.url,
      protocolVersion: '4',
      baseTopic: 'hub',
      discovery: true,
      discoveryPrefix: 'homeassistant',
      fieldTopics: true,
      keepalive: 30,
    },
    {
      id: 'acct',
      type: 'account-link',
      link: 'node-test',
      provider: 'custom',
      clientId: 'client',
      flow: 'pairing',
      authorizationEndpoint: 'https://auth.example.test/authorize',
      tokenEndpoint: 'https://auth.example.test/token',
      mqtt: 'broker',
    },
  ] as unknown as Flow;
}

describe('account-link-mqtt node', function () {
  let broker: AedesBroker;
  let logins: string[];

  beforeEach(async () => {
    logins = [];
    broker = await startAedes({
      authenticate: (user, password) => {
        logins.push(`${user}:${password === 'pw-secret' ? 'ok' : 'wrong'}`);
        return user === 'hub' && password === 'pw-secret';
      },
    });
    helper.settings({ userDir: await tempDir(), mqttReconnectTime: 100 } as Parameters<typeof helper.settings>[0]);
  });

  afterEach(async () => {
    await helper.unload();
    await broker.stop();
    await removeTempDirs();
  });

  it('publishes the account-link node it is chosen by, with its credentials, and shows the connection on its badge', async () => {
    await helper.load([accountLinkNodes, mqttNodes], flow(broker), { broker: { user: 'hub', password: 'pw-secret' } });
    const account = helper.getNode('acct') as unknown as AccountNode;
    await account.ready;
    const mqtt = helper.getNode('broker') as unknown as MqttNode;
    await until(() => badgesOf(mqtt).at(-1)?.fill === 'green', 'the connection');
    assert.deepEqual(logins, ['hub:ok']);

    const retained = await retainedOn(broker.url, '#', { username: 'hub', password: 'pw-secret' });
    assert.equal(retained.get('hub/status')?.text, 'online');
    assert.equal(JSON.parse(retained.get('hub/node-test/state')!.text).state, 'unlinked');
    assert.equal(retained.get('hub/node-test/link_state')?.text, 'unlinked');
    assert.ok(retained.has('homeassistant/device/account_link_node_test/config'));

    await broker.stop();
    await until(() => badgesOf(mqtt).at(-1)?.fill === 'red', 'a disconnected badge');
    await broker.start();
    await until(() => badgesOf(mqtt).at(-1)?.fill === 'green', 'connected again');
    const fills = badgesOf(mqtt).map((b) => b.fill);
    assert.ok(fills.indexOf('red') > fills.indexOf('green') && fills.lastIndexOf('green') > fills.indexOf('red'), fills.join(','));
    assert.ok(badgesOf(mqtt).every((b) => !JSON.stringify(b).includes('pw-secret')));

    // Unloading the flow closes the connection cleanly: offline is retained.
    await helper.unload();
    const after = await retainedOn(broker.url, 'hub/status', { username: 'hub', password: 'pw-secret' });
    assert.equal(after.get('hub/status')?.text, 'offline');
  });

  for (const address of ['http://hub:se@cr/et@example.test', 'mqtt://hub:se@cr/et@broker.local', 'mqtt://hub:se cr/et@broker local', 'mqtt://broker.local/?p=se@cr/et']) {
    it(`reports a broker address it cannot use on its badge and in the log, without crashing or quoting it (${address})`, async () => {
      const bad = flow(broker) as unknown as Record<string, unknown>[];
      bad[1]!.broker = address;
      await helper.load([accountLinkNodes, mqttNodes], bad as unknown as Flow);
      const account = helper.getNode('acct') as unknown as AccountNode;
      await account.ready;
      const mqtt = helper.getNode('broker') as unknown as MqttNode;
      mqtt.register({ id: 'x', slug: 'x' });
      mqtt.deregister({ id: 'x', slug: 'x' }, true);
      assert.equal(badgesOf(mqtt).at(-1)?.fill, 'red');
      const logged = (helper.log() as unknown as { args: [{ msg?: unknown }][] }).args.map(([event]) => String(event?.msg ?? ''));
      // The test helper loads no catalogs, so the line is its key; broker-url.test.ts checks the message itself.
      assert.equal(logged.filter((line) => line.includes('errors.config')).length, 1, logged.join('\n'));
      for (const text of [...logged, ...badgesOf(mqtt).map((b) => JSON.stringify(b))]) {
        assert.ok(!/se@|cr\/|et@|se cr/.test(text), `"${text}" shows a piece of the password`);
      }
    });
  }

  it('passes its Commands setting on: status only leaves Home Assistant without buttons', async () => {
    const nodes = flow(broker) as unknown as Record<string, unknown>[];
    nodes[1]!.commands = 'status';
    await helper.load([accountLinkNodes, mqttNodes], nodes as unknown as Flow, { broker: { user: 'hub', password: 'pw-secret' } });
    await (helper.getNode('acct') as unknown as AccountNode).ready;
    const mqtt = helper.getNode('broker') as unknown as MqttNode;
    await until(() => badgesOf(mqtt).at(-1)?.fill === 'green', 'the connection');
    const topic = 'homeassistant/device/account_link_node_test/config';
    const retained = await retainedOn(broker.url, topic, { username: 'hub', password: 'pw-secret' });
    const { cmps } = JSON.parse(retained.get(topic)!.text) as { cmps: Record<string, unknown> };
    assert.deepEqual([cmps.start, cmps.refresh, cmps.revoke], [{ p: 'button' }, { p: 'button' }, { p: 'button' }]);
  });

  it('lists brokers seen by mDNS on GET account-link/discover/mqtt', async () => {
    const mdns = { interface: '127.0.0.1', bind: '0.0.0.0', port: await freePort(), loopback: true, ttl: 1 };
    helper.settings({ userDir: await tempDir(), mqttReconnectTime: 100, accountLink: { mdns, discoverMs: 600 } } as Parameters<typeof helper.settings>[0]);
    const advertiser = new Bonjour(mdns, () => undefined);
    const service = advertiser.publish({ name: 'Hub broker', type: 'mqtt', port: 1883, host: 'hub.local', disableIPv6: true });
    if (!service.published) await once(service, 'up');
    try {
      await helper.load([accountLinkNodes, mqttNodes], flow(broker), { broker: { user: 'hub', password: 'pw-secret' } });
      const response = await helper.request().get('/account-link/discover/mqtt').expect(200);
      const brokers = (response.body as { brokers: { name: string; port: number; url: string }[] }).brokers;
      assert.deepEqual(brokers.map((b) => [b.name, b.port]), [['Hub broker', 1883]]);
      assert.match(brokers[0]!.url, /^mqtt:\/\/.+:1883$/);
      assert.ok(!JSON.stringify(response.body).includes('pw-secret'));
    } finally {
      await new Promise<void>((resolve) => advertiser.unpublishAll(() => advertiser.destroy(() => resolve())));
    }
  });
});
