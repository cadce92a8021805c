// A mosquitto broker on a free loopback port for benches: started, stopped and started again on the
// same port (retained messages are lost: no persistence).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The mosquitto binary, or undefined when it is not installed. */
export const mosquittoBinary = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => existsSync(p));

/** Starts mosquitto with its config in `workDir`; `{url, stop(), start()}`. */
export async function startMosquitto(workDir) {
  const port = await freePort();
  const config = path.join(workDir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`);
  let child;
  const broker = {
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      child = spawn(mosquittoBinary, ['-c', config], { stdio: 'ignore' });
      const deadline = Date.now() + 5000;
      while (!(await canConnect(port))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error('mosquitto did not start');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
  await broker.start();
  return broker;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
