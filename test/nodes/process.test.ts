import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { freePort, prepareUserDir, spawnNodeRed } from '../../scripts/node-red-home.js';
import { TokenStore } from '../../src/core/index.js';
import { startTestProvider, type TestProvider } from '../../demo/sign-in-server.js';
import { passPairingPage } from '../helpers/pairing-form.js';

const bcrypt = createRequire(require.resolve('node-red'))('bcryptjs') as { hashSync(text: string, rounds: number): string };

/** A real Node-RED process with adminAuth on, loading this package from the working tree. */
class NodeRedProcess {
  child: ChildProcess | undefined;
  /** Everything every run printed, for the secrets scan. */
  output = '';
  constructor(
    readonly userDir: string,
    readonly settingsFile: string,
    readonly port: number,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const startedAt = this.output.length;
    this.child = spawnNodeRed(this.userDir, this.settingsFile, 'pipe');
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!/Started flows/.test(this.output.slice(startedAt))) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`Node-RED did not start:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}

async function adminToken(base: string): Promise<string> {
  const response = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: 'hub-password' }),
  });
  assert.equal(response.status, 200, 'admin login works');
  return ((await response.json()) as { access_token: string }).access_token;
}

describe('a real Node-RED process', function () {
  this.timeout(120_000);
  let provider: TestProvider;
  let userDir: string;
  let red: NodeRedProcess;

  before(async () => {
    provider = await startTestProvider({ accessTokenTtl: 3600 });
    userDir = await mkdtemp(path.join(os.tmpdir(), 'account-link-process-'));
    const port = await freePort();
    const settingsFile = prepareUserDir(userDir, {
      uiPort: port,
      uiHost: '127.0.0.1',
      flowFile: 'flows.json',
      credentialSecret: 'test-secret',
      adminAuth: { type: 'credentials', users: [{ username: 'admin', password: bcrypt.hashSync('hub-password', 4), permissions: '*' }] },
      logging: { console: { level: 'trace' } },
      // The refresh right after the restart must reach the provider (core tests cover the 10 s spacing).
      accountLink: { mdns: false, refreshRequests: 'unspaced' },
    });
    await writeFile(
      path.join(userDir, 'flows.json'),
      JSON.stringify([
        {
          id: 'acct',
          type: 'account-link',
          name: 'Alice',
          link: 'alice',
          provider: 'oidc',
          issuer: provider.issuer,
          clientId: provider.clientId,
          scope: 'openid profile offline_access',
          flow: 'auto',
        },
        {
          id: 'pair',
          type: 'account-link',
          name: 'Bob via the pairing page',
          link: 'bob-pairing',
          provider: 'custom',
          authorizationEndpoint: provider.endpoints.authorization,
          tokenEndpoint: provider.endpoints.token,
          userinfoEndpoint: provider.endpoints.userinfo,
          clientId: provider.clientId,
          scope: 'openid profile offline_access',
          flow: 'pairing',
          publicUrl: `http://127.0.0.1:${port}`,
        },
      ]),
    );
    provider.addRedirectUri(`http://127.0.0.1:${port}/link/callback`);
    red = new NodeRedProcess(userDir, settingsFile, port);
    await red.start();
  });

  after(async () => {
    await red?.kill('SIGTERM');
    await provider?.close();
    await rm(userDir, { recursive: true, force: true });
  });

  it('refuses admin requests without a token, links with one, and stays linked after SIGKILL', async () => {
    for (const [method, route] of [
      ['GET', 'account-link/acct'],
      ['POST', 'account-link/acct/start'],
      ['POST', 'account-link/acct/revoke'],
      ['GET', 'account-link/info'],
    ]) {
      const response = await fetch(`${red.base}/${route}`, { method });
      assert.equal(response.status, 401, `${method} ${route} needs a token`);
    }
    const token = await adminToken(red.base);
    const auth = { authorization: `Bearer ${token}` };
    const get = async () => (await (await fetch(`${red.base}/account-link/acct`, { headers: auth })).json()) as Record<string, any>;

    assert.equal((await get()).state, 'unlinked');
    const post = (route: string) => fetch(`${red.base}/account-link/${route}`, { method: 'POST', headers: auth });
    const notLinked = await post('acct/refresh');
    assert.equal(notLinked.status, 400, 'a failed action answers 400');
    const refused = (await notLinked.json()) as Record<string, any>;
    assert.deepEqual([refused.status, refused.data.state, refused.error.code, refused.manageUrl], ['error', 'unlinked', 'not_linked', null]);
    const missing = await post('no-such-node/start');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as Record<string, any>).error.code, 'not_deployed');
    const status = await post('acct/status');
    assert.equal(status.status, 200);
    assert.deepEqual(await status.json(), { status: 'ok', data: await get(), error: null, manageUrl: null });

    const started = await post('acct/start');
    assert.equal(started.status, 200);
    const reply = (await started.json()) as Record<string, any>;
    assert.deepEqual([reply.status, reply.error, reply.manageUrl], ['ok', null, null], 'every action answers an ActionReply');
    const pending = reply.data;
    assert.equal(pending.state, 'pending');
    await provider.approveDevice(pending.user_code);
    let snapshot = await get();
    for (let i = 0; i < 200 && snapshot.state !== 'linked'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      snapshot = await get();
    }
    assert.equal(snapshot.state, 'linked');
    assert.equal(snapshot.account.name, 'Alice');

    await red.kill('SIGKILL');
    await red.start();
    const token2 = await adminToken(red.base);
    const after = (await (await fetch(`${red.base}/account-link/acct`, { headers: { authorization: `Bearer ${token2}` } })).json()) as Record<string, any>;
    assert.equal(after.state, 'linked', 'still linked after SIGKILL and restart, without a deploy');

    const refreshes = provider.count('refresh_token');
    const refreshed = await fetch(`${red.base}/account-link/acct/refresh`, { method: 'POST', headers: { authorization: `Bearer ${token2}` } });
    assert.equal(refreshed.status, 200);
    assert.equal(((await refreshed.json()) as Record<string, any>).data.state, 'linked');
    assert.equal(provider.count('refresh_token'), refreshes + 1);
    const lastRefresh = provider.requests.filter((r) => r.grantType === 'refresh_token').at(-1);
    assert.equal(lastRefresh?.status, 200, 'the stored refresh token was the current one');

  });

  it('links through the pairing page served on the HTTP node server', async () => {
    const auth = { authorization: `Bearer ${await adminToken(red.base)}` };
    const started = await fetch(`${red.base}/account-link/pair/start`, { method: 'POST', headers: auth });
    const pending = ((await started.json()) as Record<string, any>).data;
    assert.equal(pending.state, 'pending');
    assert.equal(pending.verification_uri, `${red.base}/link`);
    assert.match(pending.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);

    const form = await fetch(`${red.base}/link`);
    assert.equal(form.status, 200);
    // Any case, no dash; then the confirmation page's Continue goes to the provider.
    const { authorizeUrl, cookie } = await passPairingPage(red.base, pending.user_code.toLowerCase().replace('-', ''));
    assert.ok(authorizeUrl.startsWith(provider.endpoints.authorization));
    assert.match(authorizeUrl, /code_challenge_method=S256/);
    // The hub no longer shows the used code: it waits for the sign-in.
    const waiting = ((await (await fetch(`${red.base}/account-link/pair`, { headers: auth })).json()) as Record<string, any>);
    assert.deepEqual([waiting.state, waiting.waiting_for, waiting.user_code], ['pending', 'sign_in', null]);
    assert.match(waiting.prompt, /^Waiting for the sign-in to .* on the phone where the code was entered$/);

    const back = await provider.authorize(authorizeUrl, { accountId: 'bob' });
    assert.ok(back.startsWith(`${red.base}/link/callback?`));
    const page = await fetch(back, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Bob/);
    const snapshot = (await (await fetch(`${red.base}/account-link/pair`, { headers: auth })).json()) as Record<string, any>;
    assert.equal(snapshot.state, 'linked');
    assert.equal(snapshot.account.name, 'Bob');
  });

  it('leaves no token or secret in the trace log, flows or credentials files', async () => {
    // Nothing secret outside the encrypted store: Node-RED's trace log, flows and credentials files.
    const store = await TokenStore.open(path.join(userDir, 'account-link'));
    const secrets: string[] = ['test-secret'];
    for (const id of ['acct', 'pair']) {
      const stored = await store.read(id);
      assert.ok(stored?.tokens.refreshToken, `${id} holds tokens to look for`);
      assert.equal(await provider.isTokenActive(stored.tokens.refreshToken), true);
      secrets.push(stored.tokens.accessToken, stored.tokens.refreshToken);
    }
    const files = (await readdir(userDir)).filter((f) => f.endsWith('.json'));
    const texts = [red.output, ...(await Promise.all(files.map((f) => readFile(path.join(userDir, f), 'utf8'))))];
    for (const secret of secrets) {
      for (const text of texts) assert.ok(!text.includes(secret), 'no token in logs or flow files');
    }
  });
});
