import assert from 'node:assert/strict';
import path from 'node:path';
import type { TestProvider } from '../../demo/sign-in-server.js';
import { accountLinkNodes, collector, helper, node, oidcAccount, onTab, until, useNodeRed, useTestProvider, type Msg, type TestFlow } from './fixtures.js';

/** Relinking through the start node and the editor's admin route: the account stays unless a switch is asked for. */
describe('Node-RED nodes: relinking as another account', function () {
  this.timeout(60_000);
  const testProvider = useTestProvider();
  let provider: TestProvider;
  useNodeRed();
  beforeEach(() => {
    provider = testProvider();
  });

  async function load(account: Msg = {}): Promise<{ out: Msg[]; caught: Msg[] }> {
    const catchModule = require(require.resolve('@node-red/nodes/core/common/25-catch.js', { paths: [path.dirname(require.resolve('node-red'))] }));
    const flow = onTab([
      oidcAccount(provider, account),
      { id: 'start', type: 'account-link-start', account: 'acct', wires: [['out']] },
      { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'out', type: 'helper' },
      { id: 'caught', type: 'helper' },
    ]);
    await helper.load([accountLinkNodes, catchModule], flow as TestFlow);
    return { out: collector('out'), caught: collector('caught') };
  }

  /** Sends `msg` to the start node, approves its code as `accountId`; resolves with the attempt's final message. */
  async function startAs(out: Msg[], accountId: string, msg: Msg = { payload: '' }): Promise<Msg> {
    const seen = out.length;
    node('start').receive(msg);
    const pending = await until(() => out.slice(seen).find((m) => m.payload.state === 'pending'), 'pending');
    await provider.approveDevice(pending.payload.user_code, { accountId });
    return until(() => out.slice(seen).find((m) => m.payload.state !== 'pending'), 'the end of the attempt');
  }

  it('the start node: another account is refused (to the Catch node) unless msg.replace_account is true', async () => {
    const { out, caught } = await load();
    assert.equal((await startAs(out, 'alice')).payload.account.name, 'Alice');

    const refused = await startAs(out, 'bob');
    assert.deepEqual([refused.payload.state, refused.payload.account.name, refused.error.code], ['linked', 'Alice', 'account_changed']);
    await until(() => caught.find((m) => m.error.code === 'account_changed'), 'account_changed at the Catch node');

    node('start').receive({ payload: '', replace_account: 'yes' });
    await until(() => caught.find((m) => m.error.code === 'bad_request'), 'a replace_account that is not a boolean refused');

    const switched = await startAs(out, 'bob', { payload: '', replace_account: true });
    assert.deepEqual([switched.payload.state, switched.payload.account.name, switched.error], ['linked', 'Bob', undefined]);
  });

  it('accountChange "allow" on the account node lets any relink switch accounts', async () => {
    const { out } = await load({ accountChange: 'allow' });
    await startAs(out, 'alice');
    const switched = await startAs(out, 'bob');
    assert.deepEqual([switched.payload.state, switched.payload.account.name], ['linked', 'Bob']);
  });

  it('POST account-link/:id/start takes {"replace_account": true}; the prompt says relink, in the node’s language', async () => {
    const { out } = await load({ language: 'de' });
    await startAs(out, 'alice');

    const bad = await helper.request().post('/account-link/acct/start').send({ replace_account: 1 }).expect(400);
    assert.deepEqual([bad.body.status, bad.body.error.code, bad.body.data.state], ['error', 'bad_request', 'linked']);
    await helper.request().post('/account-link/acct/start').send([true]).expect(400);

    const started = await helper.request().post('/account-link/acct/start').send({ replace_account: true }).expect(200);
    assert.equal(started.body.data.state, 'pending');
    assert.match(started.body.data.prompt, /^Um .* neu zu verknüpfen, öffne .* und gib [A-Z]{4}-[A-Z]{4} ein$/);
    assert.match(started.body.data.prompt_spoken, /^Um .* neu zu verknüpfen, öffne .* und gib den Code .+ ein\.$/);
    await provider.approveDevice(started.body.data.user_code, { accountId: 'bob' });
    let snapshot: Msg = started.body.data;
    for (let tries = 0; snapshot.state === 'pending' && tries < 400; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      snapshot = (await helper.request().get('/account-link/acct').expect(200)).body;
    }
    assert.deepEqual([snapshot.state, snapshot.account.name, snapshot.error], ['linked', 'Bob', null]);
  });
});
