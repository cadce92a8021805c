import assert from 'node:assert/strict';
import path from 'node:path';
import { fetch } from 'undici';
import type { TestProvider } from '../../demo/sign-in-server.js';
import { RecordingApi } from '../helpers/api-server.js';
import { accountLinkNodes, collector, helper, linkByDevice, node, oidcAccount, onTab, until, useNodeRed, useTestProvider, type Msg, type TestFlow } from './fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requestNodes = require('../../dist/nodes/account-link-request.js');

/** What a node did besides sending: its badges and log lines, as the test helper reports them. */
function watch(id: string): { statuses: Msg[]; logs: string[] } {
  const seen = { statuses: [] as Msg[], logs: [] as string[] };
  const target = helper.getNode(id) as unknown as { on(event: string, listener: (call: { args: unknown[] }) => void): void };
  target.on('call:status', (call) => seen.statuses.push(call.args[0] as Msg));
  for (const level of ['log', 'warn', 'error', 'debug', 'trace']) {
    target.on(`call:${level}`, (call) => seen.logs.push(call.args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : JSON.stringify(a))).join(' ')));
  }
  return seen;
}

describe('account-link-request node (test helper, real authorization server)', function () {
  this.timeout(60_000);
  const testProvider = useTestProvider({ accessTokenTtl: 3600 });
  let provider: TestProvider;
  let api: RecordingApi;
  let elsewhere: RecordingApi;
  useNodeRed();
  beforeEach(async () => {
    provider = testProvider();
    api = await RecordingApi.start({ forwardTo: provider.issuer });
    elsewhere = await RecordingApi.start();
  });
  afterEach(async () => {
    await api.close();
    await elsewhere.close();
  });

  function request(id: string, extra: Msg = {}): Msg {
    return { id, type: 'account-link-request', account: 'acct', method: 'GET', url: '', ret: 'obj', allowedHosts: api.host, queueLimit: 100, wires: [['out']], ...extra };
  }

  async function load(extra: Msg[]): Promise<void> {
    const catchModule = require(require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [path.dirname(require.resolve('node-red'))] }));
    const flow = onTab([
      oidcAccount(provider),
      { id: 'start', type: 'account-link-start', account: 'acct', wires: [['linking']] },
      { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'out', type: 'helper' },
      { id: 'linking', type: 'helper' },
      { id: 'caught', type: 'helper' },
      ...extra,
    ]);
    await helper.load([accountLinkNodes, requestNodes, catchModule], flow as TestFlow);
  }

  async function linkedToken(): Promise<string> {
    await linkByDevice(provider, 'start', collector('linking'));
    const link = await (helper.getNode('acct') as unknown as { ready: Promise<{ accessToken(): Promise<string> }> }).ready;
    return link.accessToken();
  }

  it("calls the provider's API and allowed hosts like http request, with no token in any message, badge or log", async () => {
    await load([
      request('me', { url: 'me' }),
      request('api', { url: `${api.origin}/me`, ret: 'txt' }),
      request('use', { method: 'use' }),
      request('forbidden', { url: `${elsewhere.origin}/me` }),
    ]);
    const seen = ['me', 'api', 'use', 'forbidden'].map(watch);
    const out = collector('out');
    const caught = collector('caught');
    const token = await linkedToken();
    api.script = (call) => (call.path === '/echo' ? { status: 201, body: { method: call.method, body: call.body } } : undefined);

    node('me').receive({ payload: 'ignored for GET', topic: 'who' });
    const me = await until(() => out[0], 'userinfo answer');
    assert.deepEqual([me.payload.sub, me.statusCode, me.topic, me.responseUrl], ['alice', 200, 'who', `${provider.issuer}/me`]);
    assert.match(me.headers['content-type'], /json/);

    node('api').receive({ headers: { Authorization: 'Bearer not-the-link', 'X-Extra': 'yes' } });
    const viaApi = await until(() => out[1], 'allowed host answer');
    assert.equal(typeof viaApi.payload, 'string', 'ret txt');
    assert.equal(api.calls[0]!.authorization, `Bearer ${token}`);
    assert.equal(api.calls[0]!.headers['x-extra'], 'yes');

    node('use').receive({ method: 'put', url: `${api.origin}/echo`, payload: { volume: 40 } });
    const echoed = await until(() => out[2], 'echo answer');
    assert.deepEqual([echoed.statusCode, echoed.payload], [201, { method: 'PUT', body: '{"volume":40}' }]);

    node('forbidden').receive({ payload: 'x' });
    const refused = await until(() => caught[0], 'forbidden host to Catch');
    assert.equal(refused.error.code, 'forbidden_host');
    assert.equal(elsewhere.calls.length, 0, 'nothing sent to a forbidden origin');
    await until(() => seen[3]!.statuses.some((s) => s.fill === 'red'), 'a red badge');

    node('use').receive({ method: 'TRACE', url: `${api.origin}/echo` });
    assert.equal((await until(() => caught[1], 'bad method')).error.code, 'bad_request');

    const everything = JSON.stringify([out, caught, seen]);
    assert.ok(!everything.includes(token), 'no token in messages, badges or logs');
  });

  it('a 401 renews the token once and the message goes out; a 429 shows the wait on the badge', async () => {
    await load([request('api', { url: `${api.origin}/me` })]);
    const seen = watch('api');
    const out = collector('out');
    const token = await linkedToken();
    await fetch(provider.endpoints.revocation, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: provider.clientId }).toString(),
    });
    const refreshes = provider.count('refresh_token');
    for (let i = 0; i < 5; i++) node('api').receive({ i });
    await until(() => out.length === 5, 'five answers');
    assert.deepEqual(out.map((m) => m.statusCode), [200, 200, 200, 200, 200]);
    assert.equal(provider.count('refresh_token') - refreshes, 1);

    let refusals = 1;
    api.script = () => (refusals-- > 0 ? { status: 429, headers: { 'retry-after': '1' } } : undefined);
    node('api').receive({ i: 5 });
    await until(() => out.length === 6, 'the answer after the wait');
    const badges = seen.statuses.map((s) => [s.fill ?? null, s.text ?? null]);
    const waited = badges.findIndex(([fill, text]) => fill === 'yellow' && /status\.waiting/.test(String(text)));
    assert.ok(waited >= 0, `a waiting badge in ${JSON.stringify(badges)}`);
    assert.deepEqual(badges.at(-1), [null, null], 'cleared once the queue was open again');
  });

  it('refuses a bad allowed host at deploy, and a node without an account', async () => {
    await load([request('bad', { url: 'me', allowedHosts: 'not a host!' }), request('orphan', { account: 'missing', url: 'me' })]);
    const caught = collector('caught');
    node('bad').receive({});
    node('orphan').receive({});
    await until(() => caught.length === 2, 'two failures');
    assert.deepEqual(caught.map((m) => m.error.code).sort(), ['config', 'config']);
    assert.ok(caught.some((m) => /Allowed hosts/.test(m.error.message)));
  });
});
