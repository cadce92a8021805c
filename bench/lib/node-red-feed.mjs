// Feeding a Node-RED flow from a bench: wait for its nodes, push messages into one node in bursts and
// count what reaches the bench's sink node (which calls globalThis.__benchSink for every message).

/**
 * A feeder for rounds of `messagesPerRound` messages sent in bursts of `burst`; each burst must reach
 * the sink within `timeoutMs`.
 */
export function nodeRedFeeder({ messagesPerRound, burst, timeoutMs }) {
  let onSink = () => undefined;
  globalThis.__benchSink = (msg) => onSink(msg);
  return {
    /** Resolves with the named flow nodes once Node-RED has started them. */
    async waitForNodes(RED, ids) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const found = Object.fromEntries(ids.map((id) => [id, RED.nodes.getNode(id)]));
        if (Object.values(found).every(Boolean)) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`Node-RED did not start the bench flow (nodes ${ids.join(', ')})`);
    },
    /** One round into `node`: its time, CPU, and whether every message arrived and passed `valid`. */
    async pump(node, valid) {
      globalThis.gc?.();
      let received = 0;
      let intact = true;
      let wake = () => undefined;
      onSink = (msg) => {
        received++;
        if (!valid(msg)) intact = false;
        if (received % burst === 0 || received === messagesPerRound) wake();
      };
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      for (let sent = 0; sent < messagesPerRound; ) {
        const target = Math.min(sent + burst, messagesPerRound);
        const arrived = new Promise((resolve) => (wake = resolve));
        for (; sent < target; sent++) node.receive({ payload: { bench: true, i: sent } });
        await withTimeout(arrived, timeoutMs, `${node.type} ${node.id}: ${received}/${target} messages arrived`);
      }
      const ms = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      onSink = () => undefined;
      return { ms, cpuUs: cpu.user + cpu.system, ok: intact && received === messagesPerRound };
    },
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
