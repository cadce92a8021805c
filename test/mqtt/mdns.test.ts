/** Broker discovery over mDNS, kept on the loopback interface (bonjour-service with multicast loopback). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Bonjour } from 'bonjour-service';
import { discoverBrokers, type MdnsOptions } from '../../src/mdns/index.js';
import { freePort } from '../helpers/brokers.js';

/** Multicast on 127.0.0.1 only, on a port of our own, so nothing leaves the machine or meets a real 5353. */
async function loopbackMdns(): Promise<MdnsOptions> {
  return { interface: '127.0.0.1', bind: '0.0.0.0', port: await freePort(), loopback: true, multicast: true, ttl: 1 };
}

function udpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'UDPWrap').length;
}

describe('mDNS broker discovery', function () {
  it('finds _mqtt._tcp and _secure-mqtt._tcp brokers within the time box, then closes its socket', async () => {
    const mdns = await loopbackMdns();
    const advertiser = new Bonjour(mdns, () => undefined);
    const services = [
      advertiser.publish({ name: 'Mosquitto on pi', type: 'mqtt', port: 1883, host: 'pi.local', disableIPv6: true, txt: { v: '5' } }),
      advertiser.publish({ name: 'Secure broker', type: 'secure-mqtt', port: 8883, host: 'pi.local', disableIPv6: true }),
      advertiser.publish({ name: 'Not a broker', type: 'http', port: 80, host: 'pi.local', disableIPv6: true }),
    ];
    // Services answer only once their name probe is done.
    await Promise.all(services.map((service) => (service.published ? undefined : once(service, 'up'))));
    try {
      const before = udpSockets();
      const brokers = await discoverBrokers({ timeoutMs: 600, mdns });
      assert.deepEqual(
        brokers.map((b) => [b.name, b.port, b.secure, b.url.split('://')[0], b.host]),
        [
          ['Mosquitto on pi', 1883, false, 'mqtt', 'pi.local'],
          ['Secure broker', 8883, true, 'mqtts', 'pi.local'],
        ],
      );
      assert.match(brokers[0]!.url, /^mqtt:\/\/[^/]+:1883$/);
      assert.equal(brokers[0]!.txt.v, '5');
      // libuv finishes closing a handle a loop turn after its 'close' event.
      for (let turn = 0; turn < 50 && udpSockets() > before; turn++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(udpSockets(), before, 'the browse socket is closed');
    } finally {
      await new Promise<void>((resolve) => advertiser.unpublishAll(() => advertiser.destroy(() => resolve())));
    }
  });

  it('resolves with nothing when no broker answers', async () => {
    const brokers = await discoverBrokers({ timeoutMs: 200, mdns: await loopbackMdns() });
    assert.deepEqual(brokers, []);
  });

  it('a multicast socket error during a browse rejects the browse and leaves the process running (bug 3)', async function () {
    this.timeout(20_000);
    const script = path.join(__dirname, 'fixtures', 'mdns-socket-error.ts');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', script], { timeout: 15_000 }, (_err, stdout, stderr) =>
        resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    assert.equal(code, 0, `the process died:\n${stderr}`);
    assert.deepEqual(JSON.parse(stdout.trim()), { rejected: 'send EACCES 224.0.0.251:5353', code: 'EACCES' });
  });
});
