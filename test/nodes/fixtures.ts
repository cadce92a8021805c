import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { startTestProvider, type TestProvider, type TestProviderOptions } from '../../demo/sign-in-server.js';
import { until } from '../helpers/until.js';

export { until };

/**
 * What the Node-RED node tests share: the test helper on this package's built nodes, a user
 * directory per test, and ways to watch what a helper node receives.
 */

helper.init(require.resolve('node-red'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const accountLinkNodes = require('../../dist/nodes/account-link.js');

// `any`: a message holds whatever the nodes under test put in it.
export type Msg = Record<string, any>;
export type TestFlow = Parameters<typeof helper.load>[1];
export interface Helpered {
  on(event: string, listener: (msg: Msg) => void): void;
  once(event: string, listener: (msg: Msg) => void): void;
  receive(msg: Msg): void;
  status: { lastCall?: { args: unknown[] } } & ((...args: unknown[]) => void);
}

export { helper };

/** The node with this id, as the test helper lets a test drive it. */
export function node(id: string): Helpered {
  return helper.getNode(id) as unknown as Helpered;
}


/** Collects every message a helper node receives. */
export function collector(id: string): Msg[] {
  const messages: Msg[] = [];
  node(id).on('input', (msg) => messages.push(msg));
  return messages;
}

/** Mocha hooks running one test provider for the whole suite; call the result inside a test. */
export function useTestProvider(options: TestProviderOptions = {}): () => TestProvider {
  let provider: TestProvider | undefined;
  before(async () => {
    provider = await startTestProvider(options);
  });
  after(async () => {
    await provider?.close();
  });
  return () => provider!;
}

/** An `account-link` config node on the test provider, linking by its device flow. */
export function oidcAccount(provider: TestProvider, extra: Msg = {}): Msg {
  return {
    id: 'acct',
    type: 'account-link',
    name: 'Test account',
    link: 'alice-test',
    provider: 'oidc',
    issuer: provider.issuer,
    clientId: provider.clientId,
    scope: 'openid profile offline_access',
    flow: 'auto',
    ...extra,
  };
}

/** Flow nodes on one tab, placed where the editor would accept them. */
export function onTab(nodes: Msg[]): Msg[] {
  return [{ id: 'tab', type: 'tab', label: 'test' }, ...nodes.map((n) => (n.type === 'account-link' ? n : { z: 'tab', x: 100, y: 100, ...n }))];
}

/**
 * Mocha hooks giving each test a fresh user directory and a running helper server. `accountLink`
 * is the settings.js entry (the default keeps the runtime off multicast).
 */
export function useNodeRed(accountLink: Record<string, unknown> = { mdns: false }): { userDir: () => string } {
  let userDir = '';
  beforeEach(async () => {
    userDir = await mkdtemp(path.join(os.tmpdir(), 'account-link-nodes-'));
    helper.settings({ userDir, accountLink } as Parameters<typeof helper.settings>[0]);
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await rm(userDir, { recursive: true, force: true });
  });
  return { userDir: () => userDir };
}

/** Starts linking through a `account-link-start` node and approves the code at the test provider. */
export async function linkByDevice(provider: TestProvider, startNode: string, out: Msg[]): Promise<Msg> {
  node(startNode).receive({ payload: '' });
  const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending snapshot');
  await provider.approveDevice(pending.payload.user_code);
  return until(() => out.find((m) => m.payload.state === 'linked'), 'linked snapshot');
}
