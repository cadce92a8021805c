import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';

helper.init(require.resolve('node-red'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const accountLinkNodes = require('../../dist/nodes/account-link.js');

type Msg = Record<string, any>;
type TestFlow = Parameters<typeof helper.load>[1];
interface Helpered {
  on(event: string, listener: (msg: Msg) => void): void;
  once(event: string, listener: (msg: Msg) => void): void;
  receive(msg: Msg): void;
  status: { lastCall?: { args: unknown[] } } & ((...args: unknown[]) => void);
}

/** Collects every message a helper node receives. */
function collector(id: string): Msg[] {
  const messages: Msg[] = [];
  (helper.getNode(id) as unknown as Helpered).on('input', (msg) => messages.push(msg));
  return messages;
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function flow(provider: TestProvider, extra: Msg[] = []): Msg[] {
  return [
    { id: 'tab', type: 'tab', label: 'test' },
    {
      id: 'acct',
      type: 'account-link',
      name: 'Test account',
      link: 'alice-test',
      provider: 'oidc',
      issuer: provider.issuer,
      clientId: provider.clientId,
      scope: 'openid profile offline_access',
      flow: 'auto',
    },
    { id: 'start', z: 'tab', type: 'account-link-start', account: 'acct', wires: [['out']] },
    { id: 'status', z: 'tab', type: 'account-link-status', account: 'acct', wires: [['out']] },
    { id: 'token', z: 'tab', type: 'account-link-status', account: 'acct', exposeToken: true, wires: [['out']] },
    { id: 'refresh', z: 'tab', type: 'account-link-refresh', account: 'acct', wires: [['out']] },
    { id: 'revoke', z: 'tab', type: 'account-link-revoke', account: 'acct', wires: [['out']] },
    { id: 'catcher', z: 'tab', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'out', z: 'tab', type: 'helper' },
    { id: 'caught', z: 'tab', type: 'helper' },
    ...extra,
  ].map((n) => (n.z ? { x: 100, y: 100, ...n } : n));
}

describe('Node-RED nodes (test helper, real authorization server)', function () {
  this.timeout(60_000);
  let provider: TestProvider;
  let userDir: string;

  before(async () => {
    provider = await startTestProvider({ accessTokenTtl: 3600 });
  });
  after(async () => {
    await provider.close();
  });
  beforeEach(async () => {
    userDir = await mkdtemp(path.join(os.tmpdir(), 'account-link-nodes-'));
    helper.settings({ userDir, accountLink: { mdns: false } } as Parameters<typeof helper.settings>[0]);
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await rm(userDir, { recursive: true, force: true });
  });

  async function load(extra: Msg[] = []): Promise<void> {
    const catchModule = require(require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [path.dirname(require.resolve('node-red'))] }));
    await helper.load([accountLinkNodes, catchModule], flow(provider, extra) as TestFlow);
  }

  it('sends an unlinked snapshot and reports a missing link to a Catch node', async () => {
    await load();
    const out = collector('out');
    const caught = collector('caught');
    (helper.getNode('status') as unknown as Helpered).receive({ payload: 'x' });
    (helper.getNode('token') as unknown as Helpered).receive({ payload: 'x' });
    await until(() => out.length === 1 && caught.length === 1, 'status and catch');
    assert.equal(out[0].payload.state, 'unlinked');
    assert.equal(out[0].topic, 'alice-test');
    assert.equal(caught[0].error.code, 'not_linked');
    assert.equal(caught[0].access_token, undefined);
  });

  it('refuses an unknown action and an action node without an account', async () => {
    await load([{ id: 'orphan', z: 'tab', type: 'account-link-refresh', account: 'missing', wires: [['out']] }]);
    const caught = collector('caught');
    (helper.getNode('start') as unknown as Helpered).receive({ payload: 'explode' });
    (helper.getNode('orphan') as unknown as Helpered).receive({ payload: '' });
    await until(() => caught.length === 2, 'two caught errors');
    const codes = caught.map((m) => m.error.code).sort();
    assert.deepEqual(codes, ['config', 'config']);
    assert.ok(caught.some((m) => /unknown-action/.test(m.error.message)), 'the unknown action is named');
  });

  it('links, exposes the token on request, refreshes, survives a redeploy and revokes', async () => {
    await load();
    const out = collector('out');
    (helper.getNode('start') as unknown as Helpered).receive({ payload: '' });
    const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending snapshot');
    assert.match(pending.payload.user_code, /\S/);
    assert.equal(pending.topic, 'alice-test');
    await provider.approveDevice(pending.payload.user_code);
    const linked = await until(() => out.find((m) => m.payload.state === 'linked'), 'linked snapshot');
    assert.equal(linked.payload.account.name, 'Alice');

    (helper.getNode('token') as unknown as Helpered).receive({ payload: '' });
    const withToken = await until(() => out.find((m) => m.access_token), 'token message');
    assert.equal(withToken.headers.Authorization, `Bearer ${withToken.access_token}`);
    assert.equal(await provider.isTokenActive(withToken.access_token), true);

    const refreshesBefore = provider.count('refresh_token');
    (helper.getNode('refresh') as unknown as Helpered).receive({ payload: '' });
    await until(() => provider.count('refresh_token') === refreshesBefore + 1 && out.length >= 4, 'refresh');

    // A redeploy (same node ids) keeps the tokens.
    await helper.setFlows(flow(provider) as TestFlow, 'full');
    const again = collector('out');
    (helper.getNode('status') as unknown as Helpered).receive({ payload: '' });
    const reloaded = await until(() => again[0], 'status after redeploy');
    assert.equal(reloaded.payload.state, 'linked');

    (helper.getNode('revoke') as unknown as Helpered).receive({ payload: '' });
    const revoked = await until(() => again.find((m) => 'manageUrl' in m), 'revoked');
    assert.equal(revoked.payload.state, 'unlinked');
    assert.equal(await provider.isTokenActive(withToken.access_token), false);

    const files = await readdir(path.join(userDir, 'account-link'));
    assert.deepEqual(files.filter((f) => f.endsWith('.json')), []);
    for (const message of [...out, ...again]) {
      if (message === withToken) continue;
      assert.ok(!JSON.stringify(message).includes(withToken.access_token), 'no token outside exposeToken');
    }
  });

  it('deleting the config node deletes its token file; a redeploy does not', async () => {
    await load();
    const out = collector('out');
    (helper.getNode('start') as unknown as Helpered).receive({ payload: '' });
    const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending');
    await provider.approveDevice(pending.payload.user_code);
    await until(() => out.find((m) => m.payload.state === 'linked'), 'linked');
    const file = path.join(userDir, 'account-link', 'acct.json');
    assert.ok(existsSync(file));
    const raw = await readFile(file, 'utf8');
    assert.ok(!raw.includes('Alice'), 'the store is encrypted');

    await helper.setFlows(flow(provider) as TestFlow, 'full');
    assert.ok(existsSync(file), 'a redeploy keeps the file');
    const disabled = flow(provider).map((n) => (n.id === 'acct' ? { ...n, d: true } : n));
    await helper.setFlows(disabled as TestFlow, 'full');
    assert.ok(existsSync(file), 'disabling the node keeps the file (Node-RED closes it with removed=true)');
    await helper.setFlows(flow(provider) as TestFlow, 'full');
    const back = collector('out');
    (helper.getNode('status') as unknown as Helpered).receive({ payload: '' });
    assert.equal((await until(() => back[0], 'status after re-enabling')).payload.state, 'linked');
    await helper.setFlows([{ id: 'tab', type: 'tab', label: 'test' }] as unknown as TestFlow, 'full');
    await until(() => !existsSync(file), 'file deleted with its node');
  });

  it("speaks the prompt in the node's language, and 'cancel' answers with the ended attempt", async () => {
    await helper.load(
      [accountLinkNodes],
      flow(provider).map((n) => (n.id === 'acct' ? { ...n, language: 'de' } : n)) as TestFlow,
    );
    const out = collector('out');
    (helper.getNode('start') as unknown as Helpered).receive({ payload: 'start' });
    const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending');
    const german = JSON.parse(await readFile(path.join(__dirname, '../../locales/de/account-link.json'), 'utf8'))['account-link'].prompt as string;
    assert.equal(pending.payload.prompt, german.replace('__provider__', new URL(provider.issuer).host).replace('__url__', pending.payload.verification_uri.replace(/^https?:\/\//, '')).replace('__code__', pending.payload.user_code));
    (helper.getNode('start') as unknown as Helpered).receive({ payload: 'cancel' });
    const cancelled = await until(() => out.find((m) => m.payload.state === 'unlinked'), 'cancel answers');
    assert.equal(cancelled.payload.user_code, null);
    assert.equal(out.filter((m) => m.payload.state === 'pending').length, 1, 'no stale pending reply to cancel');
  });
});
