/**
 * Real Node-RED child processes for the fault-injection suite (test/faults): started lean (only the
 * core nodes the flows use), killed at will, watched through the admin API, the comms websocket
 * and /proc. Every admin response and comms message is kept for the secrets scan.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WebSocket } from 'undici';
import { freePort, prepareUserDir, spawnNodeRed } from '../../scripts/node-red-home.js';

/** Core node files the fault flows use; everything else is skipped so a restart takes ~2 s, not ~5. */
const LEAN_NODES = [
  '20-inject.js',
  '21-debug.js',
  '25-catch.js',
  '10-function.js',
  '21-httpin.js',
  'account-link.js',
  'account-link-mqtt.js',
  'account-link-request.js',
  'node-red-contrib-account-link',
];

export interface AdminReply {
  status: number;
  body: any;
  text: string;
}

/** One Node-RED user directory and the process currently running on it. */
export class FaultNodeRed {
  child: ChildProcess | undefined;
  /** Everything every run printed (trace level). */
  output = '';
  /** Every admin API response body, in order. */
  readonly adminBodies: string[] = [];
  /** Every comms websocket frame received, in order. */
  readonly commsFrames: string[] = [];
  /** Bodies of the flows' own HTTP endpoints. */
  readonly httpBodies: string[] = [];
  starts = 0;
  private comms: WebSocket | undefined;

  private constructor(
    readonly userDir: string,
    readonly settingsFile: string,
    readonly port: number,
    /** Without the editor there is no comms socket to watch. */
    private readonly editorDisabled: boolean,
  ) {}

  /** Prepares `userDir` (settings at trace level, lean node set) and writes its flows. */
  static async create(userDir: string, flows: unknown[], extraSettings: Record<string, unknown> = {}): Promise<FaultNodeRed> {
    const port = await freePort();
    const settingsFile = prepareUserDir(userDir, {
      uiPort: port,
      uiHost: '127.0.0.1',
      flowFile: 'flows.json',
      credentialSecret: CREDENTIAL_SECRET,
      nodesIncludes: LEAN_NODES,
      logging: { console: { level: 'trace', metrics: false, audit: false } },
      // No multicast adverts from the pairing links under test: tests send only to loopback. Every
      // refresh the cases ask for reaches the provider: they count answers, one per request.
      accountLink: { mdns: false, refreshRequests: 'unspaced' },
      ...extraSettings,
    });
    writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
    return new FaultNodeRed(userDir, settingsFile, port, extraSettings.disableEditor === true);
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** Starts Node-RED and resolves once its flows run and the comms socket listens. */
  async start(): Promise<void> {
    const from = this.output.length;
    const child = spawnNodeRed(this.userDir, this.settingsFile, 'pipe');
    this.child = child;
    this.starts++;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!/Started flows/.test(this.output.slice(from))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`Node-RED did not start:\n${this.output.slice(from)}`);
      await sleep(20);
    }
    if (!this.editorDisabled) this.openComms();
  }

  /** Sends `signal` and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.comms?.close();
    this.comms = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Resident set size of the Node-RED process, in KiB (from /proc). */
  rssKb(): number {
    const status = readFileSync(`/proc/${this.child!.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  }

  async admin(method: 'GET' | 'POST', route: string, timeoutMs = 60_000): Promise<AdminReply> {
    const response = await fetch(`${this.base}/${route}`, { method, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    this.adminBodies.push(text);
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body, text };
  }

  async snapshot(id: string): Promise<any> {
    const reply = await this.admin('GET', `account-link/${id}`);
    assert.equal(reply.status, 200, `GET snapshot ${id}: ${reply.text}`);
    return reply.body;
  }

  /** GET on one of the flows' own http-in endpoints. */
  async http(route: string, timeoutMs: number): Promise<AdminReply | undefined> {
    try {
      const response = await fetch(`${this.base}/${route}`, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await response.text();
      this.httpBodies.push(text);
      return { status: response.status, body: JSON.parse(text), text };
    } catch {
      return undefined;
    }
  }

  /** Waits until `check` holds for the snapshot of `id`. */
  async waitFor(id: string, check: (snapshot: any) => boolean, timeoutMs: number): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const snapshot = await this.snapshot(id);
      if (check(snapshot)) return snapshot;
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}; last snapshot ${JSON.stringify(snapshot)}`);
      await sleep(50);
    }
  }

  /** Everything the runtime sent to editors: debug messages and `account-link/<id>` snapshots. */
  private openComms(): void {
    const socket = new WebSocket(`ws://127.0.0.1:${this.port}/comms`);
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ subscribe: 'debug' }));
      socket.send(JSON.stringify({ subscribe: 'account-link/#' }));
      socket.send(JSON.stringify({ subscribe: '#' }));
    });
    socket.addEventListener('message', (event) => this.commsFrames.push(String(event.data)));
    socket.addEventListener('error', () => undefined);
    this.comms = socket;
  }
}

export const CREDENTIAL_SECRET = 'fault-suite-credential-secret';

/** Writes `flows_cred.json` the way Node-RED encrypts it (AES-256-CTR, key = sha256(credentialSecret)). */
export function writeCredentials(userDir: string, credentials: Record<string, Record<string, string>>): void {
  const key = createHash('sha256').update(CREDENTIAL_SECRET).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const data = cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64');
  writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify({ $: iv.toString('hex') + data }));
}

/**
 * Flow nodes that expose a link to the test without exposing its secrets: GET /<slug>/token runs a
 * `status` node with `exposeToken` and answers only whether a token came out (or the error); a
 * `status` watch node feeds a debug node that logs every snapshot to the console.
 */
export function observerNodes(account: string, slug: string): unknown[] {
  const p = `${account}-obs`;
  return [
    { id: `${p}-tab`, type: 'tab', label: `observe ${slug}` },
    { id: `${p}-in`, type: 'http in', z: `${p}-tab`, url: `/${slug}/token`, method: 'get', wires: [[`${p}-status`]] },
    { id: `${p}-status`, type: 'account-link-status', z: `${p}-tab`, account, exposeToken: true, watch: false, wires: [[`${p}-ok`]] },
    {
      id: `${p}-ok`,
      type: 'function',
      z: `${p}-tab`,
      func:
        "msg.payload = { served: typeof msg.access_token === 'string' && msg.access_token.length > 0, state: msg.payload.state };\n" +
        'delete msg.access_token; delete msg.headers; return msg;',
      wires: [[`${p}-out`]],
    },
    { id: `${p}-catch`, type: 'catch', z: `${p}-tab`, scope: [`${p}-status`], wires: [[`${p}-err`]] },
    {
      id: `${p}-err`,
      type: 'function',
      z: `${p}-tab`,
      func: 'msg.payload = { served: false, error: msg.error && msg.error.code };\ndelete msg.access_token; delete msg.headers; return msg;',
      wires: [[`${p}-out`]],
    },
    { id: `${p}-out`, type: 'http response', z: `${p}-tab`, statusCode: '200', wires: [] },
    { id: `${p}-watch`, type: 'account-link-status', z: `${p}-tab`, account, watch: true, exposeToken: false, wires: [[`${p}-debug`]] },
    { id: `${p}-debug`, type: 'debug', z: `${p}-tab`, active: true, tosidebar: true, console: true, complete: 'true', wires: [] },
  ];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
