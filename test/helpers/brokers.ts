/**
 * Real MQTT brokers for tests and benchmarks, on loopback only: aedes in-process (MQTT 3.1.1) and
 * a mosquitto child process with its own config file (MQTT 5).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestBroker {
  url: string;
  port: number;
  /** Stops the broker; retained messages are lost (no persistence). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

export interface AedesBroker extends TestBroker {
  /** Cuts the client's TCP connection from the broker side without a DISCONNECT, so its Will fires. */
  dropClient(clientId: string): boolean;
  readonly aedes: Aedes;
}

/** aedes on a free loopback port. `authenticate` may check user and password. */
export async function startAedes(
  options: { authenticate?: (username: string | undefined, password: string | undefined) => boolean } = {},
): Promise<AedesBroker> {
  const port = await freePort();
  let aedes: Aedes;
  let server: net.Server;
  const sockets = new Set<net.Socket>();

  const start = async (): Promise<void> => {
    aedes = await Aedes.createBroker({
      ...(options.authenticate
        ? {
            authenticate: (_client, username, password, done) =>
              done(null, options.authenticate!(username, password?.toString('utf8'))),
          }
        : {}),
    });
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  };

  const stop = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  };

  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    start,
    stop,
    get aedes() {
      return aedes;
    },
    dropClient(clientId) {
      const client = (aedes as unknown as { clients: Record<string, { conn: net.Socket }> }).clients[clientId];
      if (!client) return false;
      client.conn.destroy();
      return true;
    },
  };
}

/** The mosquitto binary, or null when it is not installed. */
export function mosquittoPath(): string | null {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/local/bin/mosquitto']) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export interface MosquittoBroker extends TestBroker {
  /** Everything mosquitto wrote, for failing tests. */
  log(): string;
  /** Stops it and deletes its config folder. */
  dispose(): Promise<void>;
}

/**
 * mosquitto on a free loopback port with its own config file (no persistence). Anonymous unless
 * `settings.config` says otherwise: its lines (an `acl_file`, a `password_file`, …) are appended.
 */
export async function startMosquitto(binary = mosquittoPath(), settings: { config?: string[] } = {}): Promise<MosquittoBroker> {
  if (!binary) throw new Error('mosquitto is not installed');
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'account-link-mosquitto-'));
  const config = path.join(dir, 'mosquitto.conf');
  const extra = settings.config ?? ['allow_anonymous true'];
  writeFileSync(
    config,
    [`listener ${port} 127.0.0.1`, ...extra, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    const proc = spawn(binary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${output}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port), exited]);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  };

  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    start,
    async stop() {
      await stop();
    },
    log: () => output,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
