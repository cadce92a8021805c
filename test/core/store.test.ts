import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StoredLink } from '../../src/core/store.js';
import { TokenStore } from '../../src/core/store.js';
import { cleanupTempDirs, makeLink, tempDir } from '../helpers/core-fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';

function record(seq: number): StoredLink {
  return {
    tokens: {
      accessToken: `access-token-${seq}-abcdefghijklmnop`,
      tokenType: 'Bearer',
      expiresAt: 1_800_000_000_000 + seq,
      refreshToken: `refresh-token-${seq}-qrstuvwxyz`,
      scope: 'openid profile',
      obtainedAt: 1_799_999_000_000,
      refreshExpiresAt: null,
    },
    account: { id: 'alice', name: 'Alice' },
    problem: null,
  };
}

/** Tokens at rest. */
describe('core: TokenStore', function () {
  after(cleanupTempDirs);

  it('round-trips a record; the file is 0600, encrypted, and holds no token in clear', async () => {
    const dir = await tempDir();
    const store = await TokenStore.open(dir);
    assert.equal(await store.read('node1'), null);
    await store.write('node1', record(1));
    assert.deepEqual(await store.read('node1'), record(1));
    await store.write('node1', record(2));
    assert.deepEqual(await store.read('node1'), record(2));

    assert.equal((await stat(store.fileFor('node1'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, '.key'))).mode & 0o777, 0o600);
    const raw = await readFile(store.fileFor('node1'), 'utf8');
    assert.doesNotMatch(raw, /access-token|refresh-token|Alice/);
    assert.deepEqual(Object.keys(JSON.parse(raw)).sort(), ['data', 'iv', 'tag', 'v']);
    assert.deepEqual((await readdir(dir)).sort(), ['.key', 'node1.json'], 'no temp files left');

    // A second store on the same folder (a restart) reads it with the same key.
    const reopened = await TokenStore.open(dir);
    assert.deepEqual(await reopened.read('node1'), record(2));
    await reopened.delete('node1');
    assert.equal(await store.read('node1'), null);
    await reopened.delete('node1'); // deleting twice is fine
  });

  it('binds a file to its id: a file copied onto another link does not decrypt', async () => {
    const dir = await tempDir();
    const store = await TokenStore.open(dir);
    await store.write('node1', record(1));
    await copyFile(store.fileFor('node1'), store.fileFor('node2'));
    await assert.rejects(store.read('node2'), { code: 'store_unreadable' });
    assert.deepEqual(await store.read('node1'), record(1), 'the original still reads');
  });

  it('moves an unreadable file aside (never deletes it) and the link asks for a relink', async () => {
    const dir = await tempDir();
    const store = await TokenStore.open(dir);
    const garbage = '{"v":1,"iv":"AAAA","tag":"BBBB","data":"not really"}';
    await writeFile(store.fileFor('node1'), garbage, { mode: 0o600 });

    const clock = new ManualClock();
    const { link, rec } = await makeLink({ settings: { provider: 'github', clientId: 'x' }, clock, store });
    const snap = await link.load();
    assert.equal(snap.state, 'relink_required');
    assert.equal(snap.error?.code, 'store_unreadable');
    assert.deepEqual(rec.eventTypes(), ['relink_required']);
    assert.equal(clock.pendingTimers, 0);

    const files = await readdir(dir);
    const aside = files.filter((f) => f.startsWith('node1.json.unreadable-'));
    assert.equal(aside.length, 1);
    assert.equal(files.includes('node1.json'), false);
    assert.equal(await readFile(path.join(dir, aside[0]), 'utf8'), garbage, 'kept byte for byte');
    assert.ok(snap.error!.message.includes(aside[0]), 'the message names the moved file');
    await link.close();
  });

  it('treats truncated JSON, a wrong key and an unknown version alike', async () => {
    const dir = await tempDir();
    const store = await TokenStore.open(dir);
    await writeFile(store.fileFor('a'), '{"v":1,"iv":', { mode: 0o600 });
    await assert.rejects(store.read('a'), { code: 'store_unreadable' });

    await store.write('b', record(1));
    const otherKey = new TokenStore(dir, Buffer.alloc(32, 7));
    await assert.rejects(otherKey.read('b'), { code: 'store_unreadable' });

    await writeFile(store.fileFor('c'), JSON.stringify({ v: 2, iv: '', tag: '', data: '' }), { mode: 0o600 });
    await assert.rejects(store.read('c'), { code: 'store_unreadable' });
    const files = await readdir(dir);
    assert.equal(files.filter((f) => f.includes('.unreadable-')).length, 3);
  });

  it('refuses a file whose GCM tag was cut short (4 bytes), as any forgery', async () => {
    const dir = await tempDir();
    const store = await TokenStore.open(dir);
    await store.write('node1', record(1));
    const envelope = JSON.parse(await readFile(store.fileFor('node1'), 'utf8')) as { tag: string };
    const shortTag = Buffer.from(envelope.tag, 'base64').subarray(0, 4).toString('base64');
    await writeFile(store.fileFor('node1'), JSON.stringify({ ...envelope, tag: shortTag }), { mode: 0o600 });
    await assert.rejects(store.read('node1'), { code: 'store_unreadable' });
    assert.equal((await readdir(dir)).filter((f) => f.startsWith('node1.json.unreadable-')).length, 1);
  });

  it('makes a folder or key that others may read private again, and says so once', async function () {
    if (process.platform === 'win32') this.skip();
    const dir = await tempDir();
    await (await TokenStore.open(dir)).write('node1', record(1));
    await chmod(dir, 0o755);
    await chmod(path.join(dir, '.key'), 0o644);
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => warnings.push(message) };

    const [first, second] = await Promise.all([TokenStore.open(dir, logger), TokenStore.open(dir, logger)]);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, '.key'))).mode & 0o777, 0o600);
    assert.equal(warnings.length, 1, 'one warning for both, and none from the second open');
    assert.match(warnings[0], /Other users of this computer could read the saved tokens/);
    assert.ok(warnings[0].includes(`${dir} (was 755, now 700)`) && warnings[0].includes('.key (was 644, now 600)'));
    assert.deepEqual(await first.read('node1'), record(1));
    assert.deepEqual(await second.read('node1'), record(1));
    await TokenStore.open(dir, logger);
    assert.equal(warnings.length, 1, 'a private folder is not reported');
  });

  it('forgetting a link deletes its moved-aside copies too; a revoke (delete) keeps them', async () => {
    const dir = await tempDir();
    const store = await TokenStore.open(dir);
    for (const name of ['node1.json.unreadable-1', 'node1.json.unreadable-2', 'node10.json.unreadable-3', 'node2.json.unreadable-4']) {
      await writeFile(path.join(dir, name), 'moved aside', { mode: 0o600 });
    }
    await store.write('node1', record(1));
    await store.write('node2', record(2));
    await store.delete('node2');
    await store.forget('node1');
    assert.deepEqual((await readdir(dir)).sort(), ['.key', 'node10.json.unreadable-3', 'node2.json.unreadable-4']);
    await store.forget('node1'); // forgetting twice is fine
  });

  it('removes temp files a killed process left behind, and only those', async () => {
    const dir = await tempDir();
    const first = await TokenStore.open(dir);
    await first.write('node1', record(1));
    const orphan = `node1.json.${process.pid + 1}.7.tmp`;
    await writeFile(path.join(dir, orphan), 'half-written');
    await writeFile(path.join(dir, 'notes.tmp'), 'not ours');
    await TokenStore.open(dir);
    const names = await readdir(dir);
    assert.ok(!names.includes(orphan), 'the orphaned temp file is gone');
    assert.ok(names.includes('notes.tmp') && names.includes('node1.json'));
  });

  it('never makes a new key over saved links: a lost key file is reported, not papered over', async () => {
    const dir = await tempDir();
    const store = await TokenStore.open(dir);
    await store.write('node1', record(1));
    await writeFile(path.join(dir, '.key'), '');
    await assert.rejects(TokenStore.open(dir), (err: Error & { code?: string }) => err.code === 'store_unreadable' && /key file/.test(err.message));
    assert.equal(await readFile(path.join(dir, '.key'), 'utf8'), '', 'the damaged key file is left for the person to restore');
    assert.deepEqual(await store.list(), ['node1']);
  });

  it('replaces an empty key file when nothing is encrypted under it; concurrent opens agree on one key', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, '.key'), '');
    const [a, b] = await Promise.all([TokenStore.open(dir), TokenStore.open(dir)]);
    await a.write('node1', record(1));
    assert.deepEqual(await b.read('node1'), record(1));
    assert.deepEqual(await (await TokenStore.open(dir)).read('node1'), record(1));
  });

  it('refuses ids that could escape the folder', async () => {
    const store = await TokenStore.open(await tempDir());
    for (const id of ['../x', '.key', 'a/b', '', '.hidden']) assert.throws(() => store.fileFor(id));
  });

  it('serializes concurrent writes: the last one wins and reads never see a half-written file', async () => {
    const store = await TokenStore.open(await tempDir());
    const ops: Promise<unknown>[] = [];
    for (let i = 1; i <= 50; i++) {
      ops.push(store.write('node1', record(i)));
      ops.push(store.read('node1').then((r) => assert.ok(r === null || r.tokens.accessToken.startsWith('access-token-'))));
    }
    await Promise.all(ops);
    assert.deepEqual(await store.read('node1'), record(50));
  });

  it('survives SIGKILL at random moments: the file is always the last or the previous record', async function () {
    this.timeout(120_000);
    const dir = await tempDir();
    const writer = path.join(__dirname, 'fixtures', 'store-writer.ts');
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      const killAfter = 20 + Math.floor(Math.random() * 300);
      const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, 'crash'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let started = 0;
      let wrote = 0;
      let stderr = '';
      let buffered = '';
      let killing = false;
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const [what, n] = line.split(' ');
          if (what === 'started') started = Number(n);
          if (what === 'wrote') wrote = Number(n);
        }
        if (wrote >= killAfter && !killing) {
          killing = true;
          // A random moment into the next writes.
          setTimeout(() => child.kill('SIGKILL'), Math.random() * 4);
        }
      });
      // Everything printed before the kill is still delivered before stdout ends.
      const [signal] = await Promise.all([
        new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig))),
        new Promise<void>((resolve) => child.stdout.on('end', () => resolve())),
      ]);
      assert.equal(signal, 'SIGKILL', `writer ended by itself: ${stderr}`);
      const store = await TokenStore.open(dir);
      const found = await store.read('crash');
      assert.ok(found, `round ${round}: a record is there`);
      const seq = found.tokens.obtainedAt;
      // The last confirmed write, or the one under way if its rename had happened.
      assert.ok(seq === wrote || seq === started, `round ${round}: file has ${seq}; wrote ${wrote}, started ${started}`);
      assert.equal(found.tokens.accessToken, `access-${seq}-${'x'.repeat(seq % 500)}`, 'intact');
    }
  });
});
