/** Issue 14: reconnect soon after a drop, then back off; no storm while the broker stays down. */
import assert from 'node:assert/strict';
import { MqttPublisher } from '../../src/mqtt/index.js';
import { ReconnectSchedule } from '../../src/mqtt/reconnect.js';
import { startAedes, type AedesBroker } from '../helpers/brokers.js';
import { makeLink, reaches, removeTempDirs } from './links.js';

describe('MQTT reconnect schedule', function () {
  it('waits 500 ms first, then twice as long each time up to the period, and starts over after a connect', () => {
    const schedule = new ReconnectSchedule(5000);
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => schedule.next()), [500, 1000, 2000, 4000, 5000, 5000]);
    schedule.reset();
    assert.equal(schedule.next(), 500);
  });

  it('never waits longer than a short configured period, even the first time', () => {
    const schedule = new ReconnectSchedule(200);
    assert.deepEqual([schedule.next(), schedule.next()], [200, 200]);
  });

  describe('against a broker that goes away (aedes)', function () {
    this.timeout(20_000);
    let broker: AedesBroker;
    let publisher: MqttPublisher | undefined;

    beforeEach(async () => {
      broker = await startAedes();
    });
    afterEach(async () => {
      await publisher?.close();
      await broker.stop();
      await removeTempDirs();
    });

    it('tries again at most once per scheduled wait while the broker stays down, then recovers on the next try', async () => {
      const { link } = await makeLink('kitchen', { linked: true });
      const warnings: string[] = [];
      publisher = new MqttPublisher({
        broker: broker.url,
        protocolVersion: 4,
        discovery: false,
        reconnectPeriod: 2000,
        logger: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
      });
      publisher.register(link);
      await reaches(publisher, 'connected');

      const attempts: number[] = [];
      publisher.on('status', (status) => {
        if (status.state === 'connecting') attempts.push(performance.now());
      });
      await broker.stop();
      const down = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 4500));
      // Waits of 500, 1000, 2000 ms: the attempts come at 0.5, 1.5 and 3.5 s, never sooner.
      assert.ok(attempts.length >= 1, 'it tried again while the broker was down');
      assert.ok(attempts.length <= 3, `no storm: ${attempts.length} attempts in 4.5 s`);
      const gaps = attempts.map((at, i) => at - (i === 0 ? down : attempts[i - 1]!));
      const waits = [500, 1000, 2000];
      gaps.forEach((gap, i) => assert.ok(gap >= waits[i]! - 20, `attempt ${i + 1} came after ${Math.round(gap)} ms, not before ${waits[i]} ms`));
      assert.ok(warnings.length <= 1, `one warning for the outage, not one per attempt: ${warnings.join(' | ')}`);

      await broker.start();
      await reaches(publisher, 'connected');
    });
  });
});
