/** Broker addresses: what is accepted, and what a log line may show of one (never a password). */
import assert from 'node:assert/strict';
import { LinkError } from '../../src/core/index.js';
import { INVALID_BROKER_ADDRESS, maskCredentials, MqttPublisher, normalizeBrokerUrl, redactBrokerUrl } from '../../src/mqtt/index.js';
import { freePort } from '../helpers/brokers.js';
import { reaches } from './links.js';

/** A password with both characters that end a URL's user info or host early. */
const PASSWORD = 'se@cr/et';
const PIECES = ['se@', 'cr/', 'cr', 'et@', PASSWORD, encodeURIComponent(PASSWORD)];

function assertNoPassword(text: string): void {
  for (const piece of PIECES) assert.ok(!text.includes(piece), `"${text}" shows "${piece}" of the password`);
}

describe('broker addresses', function () {
  it('redacts user, password, query and fragment, with or without a scheme', () => {
    const cases: [string, string][] = [
      [`mqtt://hub:${encodeURIComponent(PASSWORD)}@broker.local:1883`, 'mqtt://broker.local:1883'],
      ['mqtt://hub:p@ss@broker.local:1883', 'mqtt://broker.local:1883'],
      [`hub:${encodeURIComponent(PASSWORD)}@192.168.1.10:1883`, 'mqtt://192.168.1.10:1883'],
      [`wss://hub:${encodeURIComponent(PASSWORD)}@broker.local:8884/mqtt`, 'wss://broker.local:8884/mqtt'],
      ['mqtts://broker.local', 'mqtts://broker.local'],
      ['mqtts://broker.local:8883/?token=7d1e#section', 'mqtts://broker.local:8883/'],
      ['192.168.1.10:1883', 'mqtt://192.168.1.10:1883'],
    ];
    for (const [broker, expected] of cases) {
      assert.equal(redactBrokerUrl(broker), expected, broker);
      assertNoPassword(redactBrokerUrl(broker));
    }
  });

  it('shows <invalid broker address> for what does not parse cleanly, never the raw text or a piece of it', () => {
    const raw = [
      `mqtt://hub:${PASSWORD}@`,
      `mqtt://hub:${PASSWORD}@[::1`,
      'mqtt://bad host',
      '',
      // A raw "/" or "@" in the password: where the parser puts the host is a piece of the password, or may be.
      `mqtt://hub:${PASSWORD}@broker.local:1883`,
      `hub:${PASSWORD}@192.168.1.10:1883`,
      `wss://hub:${PASSWORD}@broker.local:8884/mqtt`,
      `mqtt://hub:12/${PASSWORD}@broker.local`,
      `mqtt://broker.local/?password=${PASSWORD}`,
      `mqtt://broker.local#${PASSWORD}`,
    ];
    for (const broker of raw) {
      assert.equal(redactBrokerUrl(broker), INVALID_BROKER_ADDRESS, broker);
    }
  });

  it('refuses an address whose raw password would move the host, and says so without the password', () => {
    assert.equal(normalizeBrokerUrl('broker.local:1883'), 'mqtt://broker.local:1883');
    assert.equal(normalizeBrokerUrl(`mqtt://hub:${encodeURIComponent(PASSWORD)}@broker.local`), `mqtt://hub:${encodeURIComponent(PASSWORD)}@broker.local`);
    const refused = [
      `mqtt://hub:${PASSWORD}@broker.local`,
      `http://hub:${PASSWORD}@[::1`,
      `mqtt://hub:${PASSWORD}@`,
      'mqtt://hub:se cr/et@broker local',
      `mqtt://broker.local/?p=${PASSWORD}`,
    ];
    for (const broker of refused) {
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
  it('masks the password in text from elsewhere (a client error), raw, percent-encoded or from its own field', () => {
    const encoded = encodeURIComponent(PASSWORD);
    const broker = `mqtt://hub:${encoded}@broker.local:1883`;
    const error = `connect failed for ${broker} (user hub, password ${PASSWORD} / ${encoded})`;
    const masked = maskCredentials(error, broker);
    assertNoPassword(masked);
    assert.equal(masked, 'connect failed for mqtt://broker.local:1883 (user hub, password *** / ***)');
    assert.equal(maskCredentials(`denied: ${PASSWORD}`, 'mqtt://broker.local', PASSWORD), 'denied: ***');
    assert.equal(maskCredentials('Connection refused: Not authorized', 'mqtt://broker.local'), 'Connection refused: Not authorized');
  });
});
