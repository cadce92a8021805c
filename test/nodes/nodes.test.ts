import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestProvider } from '../../demo/sign-in-server.js';
import { accountLinkNodes, collector, helper, node, oidcAccount, onTab, until, useNodeRed, useTestProvider, type Msg, type TestFlow } from './fixtures.js';

function flow(provider: TestProvider, extra: Msg[] = []): Msg[] {
  return onTab([
    oidcAccount(provider),
    { id: 'start', type: 'account-link-start', account: 'acct', wires: [['out']] },
    { id: 'status', type: 'account-link-status', account: 'acct', wires: [['out']] },
    { id: 'token', type: 'account-link-status', account: 'acct', exposeToken: true, wires: [['out']] },
    { id: 'refresh', type: 'account-link-refresh', account: 'acct', wires: [['out']] },
    { id: 'revoke', type: 'account-link-revoke', account: 'acct', wires: [['out']] },
    { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'out', type: 'helper' },
    { id: 'caught', type: 'helper' },
    ...extra,
  ]);
}

describe('Node-RED nodes (test helper, real authorization server)', function () {
  this.timeout(60_000);
  const testProvider = useTestProvider({ accessTokenTtl: 3600 });
  let provider: TestProvider;
  // Refresh requests reach the provider however close together (core tests cover the 10 s spacing).
  const { userDir } = useNodeRed({ mdns: false, refreshRequests: 'unspaced' });
  beforeEach(() => {
    provider = testProvider();
  });

  /** Links the account through the start node (device flow, approved at the provider); resolves with the linked reply. */
  async function linkThroughStartNode(out: Msg[]): Promise<Msg> {
    node('start').receive({ payload: '' });
    const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending snapshot');
    assert.match(pending.payload.user_code, /\S/);
    assert.equal(pending.topic, 'alice-test');
    await provider.approveDevice(pending.payload.user_code);
    return until(() => out.find((m) => m.payload.state === 'linked'), 'linked snapshot');
  }

  async function load(extra: Msg[] = []): Promise<void> {
    const catchModule = require(require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [path.dirname(require.resolve('node-red'))] }));
    await helper.load([accountLinkNodes, catchModule], flow(provider, extra) as TestFlow);
  }

  it('sends an unlinked snapshot and reports a missing link to a Catch node', async () => {
    await load();
    const out = collector('out');
    const caught = collector('caught');
    node('status').receive({ payload: 'x' });
    node('token').receive({ payload: 'x' });
    await until(() => out.length === 1 && caught.length === 1, 'status and catch');
    assert.equal(out[0].payload.state, 'unlinked');
    assert.equal(out[0].topic, 'alice-test');
    assert.equal(caught[0].error.code, 'not_linked');
    assert.equal(caught[0].access_token, undefined);

    // A failed action: the reply's shape on the message, to the Catch node only.
    node('refresh').receive({ payload: 'x' });
    const failed = await until(() => caught[1], 'the refresh failure');
    assert.deepEqual([failed.payload.state, failed.topic, failed.error.code], ['unlinked', 'alice-test', 'not_linked']);
    assert.equal('manageUrl' in failed, false);
    assert.equal(out.length, 1, 'nothing sent for a failure');
  });

  it('refuses an unknown action and an action node without an account', async () => {
    await load([{ id: 'orphan', z: 'tab', type: 'account-link-refresh', account: 'missing', wires: [['out']] }]);
    const caught = collector('caught');
    node('start').receive({ payload: 'explode' });
    node('orphan').receive({ payload: '' });
    await until(() => caught.length === 2, 'two caught errors');
    const codes = caught.map((m) => m.error.code).sort();
    assert.deepEqual(codes, ['config', 'config']);
    assert.ok(caught.some((m) => /unknown-action/.test(m.error.message)), 'the unknown action is named');
  });

  it('links, exposes the token on request, refreshes, survives a redeploy and revokes', async () => {
    await load();
    const out = collector('out');
    const linked = await linkThroughStartNode(out);
    assert.equal(linked.payload.account.name, 'Alice');

    node('token').receive({ payload: '' });
    const withToken = await until(() => out.find((m) => m.access_token), 'token message');
    assert.equal(withToken.headers.Authorization, `Bearer ${withToken.access_token}`);
    assert.equal(await provider.isTokenActive(withToken.access_token), true);

    const refreshesBefore = provider.count('refresh_token');
    node('refresh').receive({ payload: '' });
    await until(() => provider.count('refresh_token') === refreshesBefore + 1 && out.length >= 4, 'refresh');

    // A redeploy (same node ids) keeps the tokens.
    await helper.setFlows(flow(provider) as TestFlow, 'full');
    const again = collector('out');
    node('status').receive({ payload: '' });
    const reloaded = await until(() => again[0], 'status after redeploy');
    assert.equal(reloaded.payload.state, 'linked');

    node('revoke').receive({ payload: '' });
    const revoked = await until(() => again.find((m) => 'manageUrl' in m), 'revoked');
    assert.equal(revoked.payload.state, 'unlinked');
    assert.equal(await provider.isTokenActive(withToken.access_token), false);

    const files = await readdir(path.join(userDir(), 'account-link'));
    assert.deepEqual(files.filter((f) => f.endsWith('.json')), []);
    for (const message of [...out, ...again]) {
      if (message === withToken) continue;
      assert.ok(!JSON.stringify(message).includes(withToken.access_token), 'no token outside exposeToken');
    }
  });

  it('answers status messages in the order they came, with or without the token, and asks the provider nothing', async () => {
    await load();
    const out = collector('out');
    await linkThroughStartNode(out);
    out.length = 0;

    const calls = provider.count('refresh_token');
    for (let i = 0; i < 200; i++) node(i % 2 ? 'token' : 'status').receive({ payload: '', i, headers: { 'X-Seq': String(i) } });
    await until(() => out.length === 200, '200 replies');
    assert.deepEqual(
      out.map((m) => m.i),
      Array.from({ length: 200 }, (_, i) => i),
      'replies keep the order of the messages',
    );
    const tokens = new Set(out.filter((m) => m.i % 2).map((m) => m.access_token));
    assert.equal(tokens.size, 1, 'one cached token for every token message');
    const [token] = tokens;
    assert.equal(await provider.isTokenActive(token), true);
    for (const m of out) {
      assert.equal(m.payload.state, 'linked');
      assert.equal(m.headers['X-Seq'], String(m.i), "the message's own headers are kept");
      assert.equal(m.headers.Authorization, m.i % 2 ? `Bearer ${token}` : undefined);
    }
    assert.equal(provider.count('refresh_token'), calls, 'a fresh token is given without a refresh');
  });

  it('deleting the config node deletes its token file and moved-aside copies; a redeploy does not', async () => {
    await load();
    const out = collector('out');
    node('start').receive({ payload: '' });
    const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending');
    await provider.approveDevice(pending.payload.user_code);
    await until(() => out.find((m) => m.payload.state === 'linked'), 'linked');
    const file = path.join(userDir(), 'account-link', 'acct.json');
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
    node('status').receive({ payload: '' });
    assert.equal((await until(() => back[0], 'status after re-enabling')).payload.state, 'linked');
    const aside = `${file}.unreadable-1700000000000`;
    await writeFile(aside, 'a copy once moved aside', { mode: 0o600 });
    await helper.setFlows([{ id: 'tab', type: 'tab', label: 'test' }] as unknown as TestFlow, 'full');
    await until(() => !existsSync(file) && !existsSync(aside), 'file and moved-aside copy deleted with their node');
  });

  it("speaks the prompt in the node's language, and 'cancel' answers with the ended attempt", async () => {
    await helper.load(
      [accountLinkNodes],
      flow(provider).map((n) => (n.id === 'acct' ? { ...n, language: 'de' } : n)) as TestFlow,
    );
    const out = collector('out');
    node('start').receive({ payload: 'start' });
    const pending = await until(() => out.find((m) => m.payload.state === 'pending'), 'pending');
    const german = JSON.parse(await readFile(path.join(__dirname, '../../locales/de/account-link.json'), 'utf8'))['account-link'].prompt as string;
    // An oidc provider has no name of its own: the prompt says the link's name, not the issuer's host.
    assert.equal(pending.payload.prompt, german.replace('__provider__', 'Test account').replace('__url__', pending.payload.verification_uri.replace(/^https?:\/\//, '')).replace('__code__', pending.payload.user_code));
    node('start').receive({ payload: 'cancel' });
    const cancelled = await until(() => out.find((m) => m.payload.state === 'unlinked'), 'cancel answers');
    assert.equal(cancelled.payload.user_code, null);
    assert.equal(out.filter((m) => m.payload.state === 'pending').length, 1, 'no stale pending reply to cancel');
  });

  it("says when a link ends, and why a Google app in Testing lasts a week, in the node's language", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { relinkPromptFormatter } = require('../../dist/nodes/prompt-formatter.js') as typeof import('../../src/nodes/prompt-formatter.js');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PROFILES } = require('../../dist/core/index.js') as typeof import('../../src/core/index.js');
    const google = PROFILES.google.expiry;
    const reason = google.kind === 'stated' ? (google.shortLifetime ?? null) : null;
    // No runtime catalog: the node's language file is read, else the engine's English.
    const RED = { _: (key: string) => key } as unknown as Parameters<typeof relinkPromptFormatter>[0];
    const endsAt = Date.parse('2026-03-08T10:00:00Z');
    assert.equal(
      relinkPromptFormatter(RED, 'de')({ provider: 'Google', daysLeft: 5, endsAt, reason }),
      'Die Verknüpfung mit Google endet in 5 Tagen, am 8. März 2026; bitte vorher neu verknüpfen. Die Google-App ist im ' +
        'Status „Testing“, deshalb beendet Google jede Verknüpfung nach 7 Tagen. Damit Verknüpfungen bleiben, die App ' +
        'veröffentlichen: Google Cloud Console, Google Auth Platform, Zielgruppe, „App veröffentlichen“; dann neu verknüpfen.',
    );
    assert.equal(
      relinkPromptFormatter(RED, 'fr')({ provider: 'Spotify', daysLeft: 1, endsAt, reason: null }),
      "La liaison Spotify se termine d'ici un jour, le 8 mars 2026 ; reliez-la maintenant.",
    );
    assert.equal(
      relinkPromptFormatter(RED, undefined)({ provider: 'Spotify', daysLeft: 14, endsAt, reason: null }),
      'The Spotify link ends in 14 days, on 2026-03-08; link it again before then.',
    );
  });

  describe('a start that fails before there is a code (no client id)', () => {
    const problem = 'The client id is missing.';
    /** Log lines at warn or error level that mention the problem, as Node-RED would print them. */
    const problemLines = (): string[] => {
      const spy = helper.log() as unknown as { args: [{ level: number; msg: unknown }][]; WARN: number };
      return spy.args
        .map(([entry]) => entry)
        .filter((entry) => entry.level <= spy.WARN)
        .map((entry) => String(entry.msg))
        .filter((text) => text.includes(problem));
    };

    async function loadWithoutClientId(withCatch: boolean): Promise<void> {
      const nodes = flow(provider).map((n) => (n.id === 'acct' ? { ...n, clientId: '' } : n));
      const catchModule = require(require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [path.dirname(require.resolve('node-red'))] }));
      await helper.load([accountLinkNodes, catchModule], (withCatch ? nodes : nodes.filter((n) => n.type !== 'catch')) as TestFlow);
    }

    it('reaches a Catch node in plain words, with its code, and turns every badge red', async () => {
      await loadWithoutClientId(true);
      const caught = collector('caught');
      node('start').receive({ payload: '' });
      const failed = await until(() => caught[0], 'the caught failure');
      assert.equal(failed.error.message, problem, 'no class name in front of the words');
      assert.equal(failed.error.code, 'config');
      assert.deepEqual(failed._error, { code: 'config', message: problem }, 'the reply the node put on the message');
      assert.equal(failed.payload.error.message, problem, 'the snapshot carries it too');
      await until(() => (node('refresh').status.lastCall?.args[0] as Msg | undefined)?.fill === 'red', 'a red badge');
      assert.deepEqual(node('refresh').status.lastCall!.args[0], { fill: 'red', shape: 'ring', text: problem });
    });

    it('is logged once: by Node-RED for a flow without Catch, by the config node for the editor', async () => {
      await loadWithoutClientId(false);
      node('start').receive({ payload: '' });
      await until(() => problemLines().length > 0, 'the log line');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(problemLines(), [problem]);

      const reply = await helper.request().post('/account-link/acct/start').expect(400);
      assert.deepEqual(reply.body.error, { code: 'config', message: problem });
      assert.deepEqual(problemLines(), [problem, problem], 'one more line for the dialog’s try');
    });
  });
});
