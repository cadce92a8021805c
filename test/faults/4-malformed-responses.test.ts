/**
 * Issue 6, case 4: a token endpoint that answers nonsense. A real Node-RED process refreshes a
 * pre-seeded link against a loopback fake endpoint once per corpus entry; each refresh must end
 * in a clear error (admin response and snapshot), never a crash and never a lost link.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FakeTokenEndpoint, goodAnswer, malformedCorpus } from '../helpers/faults-corpus.js';
import { seedLink } from '../helpers/faults-links.js';
import { FaultNodeRed, observerNodes, writeCredentials } from '../helpers/faults-node-red.js';
import { evidence, faultSuite, figure } from '../helpers/faults-suite.js';

const SEEDED = { accessToken: 'seeded-access-token-erin-1a2b3c4d', refreshToken: 'seeded-refresh-token-erin-5e6f7a8b' };
/** The config node's id; not the slug (a property equal to a node id reads as a dependency on it). */
const ACCOUNT = 'erin-account';
const CLIENT_SECRET = 'fault-suite-client-secret-0d9c8b7a';
/** Values the malformed bodies carry: they must never be echoed into logs or errors either. */
const CORPUS_SECRETS = { accessToken: 'corpus-access-token-3x4y5z', refreshToken: 'corpus-refresh-token-6u7v8w' };

faultSuite('faults 4: malformed provider responses', function () {
  this.timeout(8 * 60_000);
  let endpoint: FakeTokenEndpoint;
  let red: FaultNodeRed;

  before(async () => {
    endpoint = await FakeTokenEndpoint.start();
    const userDir = await mkdtemp(path.join(os.tmpdir(), 'account-link-faults-malformed-'));
    evidence.cleanup.push(userDir);
    for (const secret of [...Object.values(SEEDED), CLIENT_SECRET, ...Object.values(CORPUS_SECRETS)]) evidence.secrets.add(secret);
    await seedLink(userDir, ACCOUNT, SEEDED, { id: 'erin', name: 'Erin' });
    red = await FaultNodeRed.create(userDir, [
      {
        id: ACCOUNT,
        type: 'account-link',
        name: 'Erin',
        link: 'erin',
        provider: 'custom',
        tokenEndpoint: endpoint.url,
        clientId: 'fault-suite-client',
        scope: 'read',
        flow: 'pairing',
        authorizationEndpoint: endpoint.url.replace('/token', '/authorize'),
      },
      ...observerNodes(ACCOUNT, 'erin'),
    ]);
    writeCredentials(userDir, { [ACCOUNT]: { clientSecret: CLIENT_SECRET } });
    evidence.processes.push(red);
    await red.start();
  });

  after(async () => {
    await red?.kill('SIGTERM');
    await endpoint?.close();
  });

  it('ends every refresh against a corpus of 200+ bad answers in a clear error, then refreshes fine', async () => {
    const corpus = malformedCorpus(CORPUS_SECRETS);
    const malformed = corpus.filter((entry) => !entry.tolerated).length;
    assert.ok(malformed >= 200, `corpus has ${malformed} malformed entries`);
    let expectedRefreshToken = SEEDED.refreshToken;
    assert.equal((await red.snapshot(ACCOUNT)).state, 'linked');

    const codes = new Map<string, number>();
    const problems: string[] = [];
    let slowest = { name: '', ms: 0 };
    let tolerated = 0;
    for (const entry of corpus) {
      endpoint.next = entry;
      const before = endpoint.requests.length;
      const startedAt = Date.now();
      const reply = await red.admin('POST', `account-link/${ACCOUNT}/refresh`, 120_000);
      const ms = Date.now() - startedAt;
      if (ms > slowest.ms) slowest = { name: entry.name, ms };
      const code = reply.body?.error?.code;
      const asked = endpoint.requests.slice(before);
      const presentedOther = asked.some((r) => r.form.get('refresh_token') !== expectedRefreshToken);
      if (entry.tolerated) {
        for (const secret of Object.values(entry.tolerated)) evidence.secrets.add(secret);
        if (reply.status !== 200 || reply.body.data.state !== 'linked' || presentedOther) {
          problems.push(`${entry.name}: a usable answer was refused (${reply.status} ${reply.body?.error?.code ?? ''})`);
        } else tolerated++;
        expectedRefreshToken = reply.status === 200 ? entry.tolerated.refreshToken : expectedRefreshToken;
        continue;
      }
      const label = code ?? `HTTP ${reply.status}`;
      codes.set(label, (codes.get(label) ?? 0) + 1);
      const why =
        reply.status !== 400 ? `answered HTTP ${reply.status}: ${reply.text.slice(0, 200)}`
        : typeof code !== 'string' || !reply.body.error.message ? `no clear error: ${reply.text.slice(0, 200)}`
        : reply.body.data?.state !== 'linked' ? `link left ${reply.body.data?.state} (${code})`
        : reply.body.data?.error?.code !== code ? `snapshot error ${reply.body.data?.error?.code} ≠ ${code}`
        : asked.length === 0 ? 'the endpoint was not asked'
        : presentedOther ? 'a different refresh token was presented'
        : !red.alive ? 'Node-RED died'
        : undefined;
      if (why) problems.push(`${entry.name}: ${why}`);
      if (!red.alive) break;
    }
    figure(
      `malformed responses: ${malformed} malformed answers → ${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ')}; ` +
        `slowest "${slowest.name}" ${slowest.ms} ms; ${problems.length} problems; ` +
        `${tolerated} odd but usable answers (correct bodies under a wrong content-type, expires_in 1e20) refreshed fine`,
    );
    for (const problem of problems) figure(`  ${problem}`);

    endpoint.next = goodAnswer('good-access-token-after-corpus-1', 'good-refresh-token-after-corpus-1');
    evidence.secrets.add('good-access-token-after-corpus-1').add('good-refresh-token-after-corpus-1');
    const good = await red.admin('POST', `account-link/${ACCOUNT}/refresh`);
    assert.equal(good.status, 200, good.text);
    assert.equal(good.body.data.state, 'linked');
    assert.equal(good.body.error, null);
    assert.equal(endpoint.requests.at(-1)?.form.get('refresh_token'), expectedRefreshToken, 'the stored refresh token survived');
    assert.equal(endpoint.requests.at(-1)?.form.get('client_secret'), CLIENT_SECRET, 'the client secret is sent');

    endpoint.next = goodAnswer('good-access-token-after-corpus-2', 'good-refresh-token-after-corpus-2');
    evidence.secrets.add('good-access-token-after-corpus-2').add('good-refresh-token-after-corpus-2');
    const again = await red.admin('POST', `account-link/${ACCOUNT}/refresh`);
    assert.equal(again.status, 200, again.text);
    assert.equal(endpoint.requests.at(-1)?.form.get('refresh_token'), 'good-refresh-token-after-corpus-1', 'the rotated token is used');
    assert.ok(red.alive);
    assert.deepEqual(problems, []);
  });
});
