/** Broker addresses: what is accepted, and what a log line may show of one (never a password). */
import assert from 'node:assert/strict';
import { LinkError } from '../../src/core/index.js';
import { INVALID_BROKER_ADDRESS, MqttPublisher, normalizeBrokerUrl, redactBrokerUrl } from '../../src/mqtt/index.js';
import { freePort } from '../helpers/brokers.js';
import { reaches } from './links.js';

/** A password with both characters that end a URL's user info or host early. */
const PASSWORD = 'se@cr/et';
const PIECES = ['se@', 'cr/', 'cr', 'et@', PASSWORD, encodeURIComponent(PASSWORD)];

function assertNoPassword(text: string): void {
  for (const piece of PIECES) assert.ok(!text.includes(piece), `"${text}" shows "${piece}" of the password`);
}

describe('broker addresses', function () {
  it('redacts user and password, percent-encoded or raw, with or without a scheme', () => {
    const cases: [string, string][] = [
      [`mqtt://hub:${encodeURIComponent(PASSWORD)}@broker.local:1883`, 'mqtt://broker.local:1883'],
      [`mqtt://hub:${PASSWORD}@broker.local:1883`, 'mqtt://broker.local:1883'],
      [`hub:${PASSWORD}@192.168.1.10:1883`, 'mqtt://192.168.1.10:1883'],
      [`wss://hub:${PASSWORD}@broker.local:8884/mqtt`, 'wss://broker.local:8884/mqtt'],
      ['mqtts://broker.local', 'mqtts://broker.local'],
      ['192.168.1.10:1883', 'mqtt://192.168.1.10:1883'],
    ];
    for (const [broker, expected] of cases) {
      assert.equal(redactBrokerUrl(broker), expected, broker);
      assertNoPassword(redactBrokerUrl(broker));
    }
  });

  it('shows <invalid broker address> for what does not parse, never the raw text', () => {
    for (const broker of [`mqtt://hub:${PASSWORD}@`, `mqtt://hub:${PASSWORD}@[::1`, 'mqtt://bad host', '']) {
      assert.equal(redactBrokerUrl(broker), INVALID_BROKER_ADDRESS, broker);
    }
  });

  it('refuses an address whose raw password would move the host, and says so without the password', () => {
    assert.equal(normalizeBrokerUrl('broker.local:1883'), 'mqtt://broker.local:1883');
    assert.equal(normalizeBrokerUrl(`mqtt://hub:${encodeURIComponent(PASSWORD)}@broker.local`), `mqtt://hub:${encodeURIComponent(PASSWORD)}@broker.local`);
    for (const broker of [`mqtt://hub:${PASSWORD}@broker.local`, `http://hub:${PASSWORD}@[::1`, `mqtt://hub:${PASSWORD}@`]) {
      assert.throws(
        () => normalizeBrokerUrl(broker),
        (err: unknown) => {
          assert.ok(err instanceof LinkError && err.code === 'config', String(err));
          assertNoPassword(err.message);
          return true;
        },
        broker,
      );
    }
  });

  it('logs the connection failure with the address redacted', async () => {
    const lines: string[] = [];
    const log = (line: string): number => lines.push(line);
    const port = await freePort();
    const publisher = new MqttPublisher({
      broker: `mqtt://hub:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
      reconnectPeriod: 50,
      discovery: false,
      logger: { debug: log, info: log, warn: log, error: log },
    });
    publisher.connect();
    await reaches(publisher, 'disconnected');
    await publisher.close();
    assert.ok(lines.some((line) => line.includes(`mqtt://127.0.0.1:${port}`)), lines.join('\n'));
    for (const line of lines) assertNoPassword(line);
  });
});
