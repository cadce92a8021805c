import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Account } from './account.js';
import { LinkError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import type { RelinkWarnings } from './relink-warnings.js';
import type { ErrorSummary } from './snapshot.js';

/** The secrets of one link. Lives only in memory and, encrypted, in the store. */
export interface TokenSet {
  accessToken: string;
  tokenType: string;
  /** Epoch ms; null when the provider did not say. */
  expiresAt: number | null;
  refreshToken: string | null;
  /** Space-separated scopes the provider granted, or null when it did not say. */
  scope: string | null;
  /** Epoch ms when this access token was issued: with expiresAt, its lifetime. */
  obtainedAt: number;
  /** Epoch ms when the grant needs a person again (the snapshot's `refresh_expires_at`), when known. */
  refreshExpiresAt: number | null;
  /** True when a token response stated that date, rather than the provider's expiry model. */
  refreshExpiresStated?: boolean;
}

/** What the store keeps for one link: its tokens, its account, and why it needs relinking, if it does. */
export interface StoredLink {
  tokens: TokenSet;
  account: Account | null;
  /** Set once the provider refused the grant: survives restarts so the link stays `relink_required`. */
  problem?: ErrorSummary | null;
  /** The relink warnings already sent, so each goes out once even across restarts. */
  relinkWarnings?: RelinkWarnings | null;
}

interface Envelope {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

const KEY_FILE = '.key';
/** GCM's full tag: a shorter one in a file is a forgery's shortcut, not a format we wrote. */
const AUTH_TAG_BYTES = 16;
const opening = new Map<string, Promise<TokenStore>>();

/**
 * Tokens at rest: one file per link, AES-256-GCM with the link id as associated data
 * (a file copied onto another link does not decrypt), mode 0600, replaced atomically.
 */
export class TokenStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  private tempCounter = 0;

  constructor(
    readonly dir: string,
    private readonly key: Buffer,
  ) {
    if (key.length !== 32) throw new Error('TokenStore needs a 32-byte key');
  }

  /**
   * Opens the store in `dir`, creating the folder and its key file on first use. A folder or key
   * that other users of the computer may read is made private again, and `logger` is told.
   */
  static open(dir: string, logger: Logger = silentLogger): Promise<TokenStore> {
    // Opens of one folder run one after another, so two never race to create its key.
    const folder = path.resolve(dir);
    const previous = opening.get(folder) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => TokenStore.openNow(folder, logger))
      .catch((err: unknown) => {
        // A full disk or a folder Node-RED may not write: say so in words, with the folder.
        if (err instanceof LinkError) throw err;
        throw new LinkError('store_failed', `The token folder ${folder} could not be opened (${(err as Error).message}).`, { cause: err });
      });
    opening.set(folder, next);
    void next.finally(() => opening.get(folder) === next && opening.delete(folder)).catch(() => undefined);
    return next;
  }

  private static async openNow(dir: string, logger: Logger): Promise<TokenStore> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await removeStaleTempFiles(dir);
    const keyPath = path.join(dir, KEY_FILE);
    await makePrivate(dir, keyPath, logger);
    const existing = await readKey(keyPath);
    if (existing) return new TokenStore(dir, existing);
    if ((await listIds(dir)).length > 0) {
      // A new key would make every saved link unreadable: say what is wrong instead.
      throw new LinkError(
        'store_unreadable',
        `The key file ${keyPath} is missing or damaged, but saved links exist. Restore it from a backup of the Node-RED folder, or delete the saved links there and link again.`,
      );
    }
    // An empty key file (power cut while it was first written) with nothing encrypted under it is replaced.
    await fs.unlink(keyPath).catch(() => undefined);
    const key = randomBytes(32);
    try {
      const handle = await fs.open(keyPath, 'wx', 0o600);
      try {
        await handle.writeFile(key.toString('base64'));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await syncDir(dir);
      return new TokenStore(dir, key);
    } catch (err) {
      // Another store opened the folder first: use its key.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const theirs = await readKey(keyPath);
      if (!theirs) throw new LinkError('store_unreadable', `The key file ${keyPath} could not be read.`);
      return new TokenStore(dir, theirs);
    }
  }

  /** Ids of the links saved here. */
  list(): Promise<string[]> {
    return listIds(this.dir);
  }

  fileFor(id: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith('.')) throw new Error(`Unsafe store id "${id}"`);
    return path.join(this.dir, `${id}.json`);
  }

  /**
   * The stored link, or null when there is none. A file that cannot be read or decrypted is moved
   * aside (never deleted) and reported as `store_unreadable`.
   */
  read(id: string): Promise<StoredLink | null> {
    return this.serialized(id, async () => {
      const file = this.fileFor(id);
      let raw: string;
      try {
        raw = await fs.readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new LinkError('store_unreadable', `The saved link could not be read (${(err as Error).message}).`);
      }
      try {
        return this.decrypt(id, raw);
      } catch {
        const aside = `${file}.unreadable-${Date.now()}`;
        await fs.rename(file, aside).catch(() => undefined);
        throw new LinkError(
          'store_unreadable',
          `The saved link could not be decrypted, so it was moved aside to ${path.basename(aside)}. Link the account again.`,
        );
      }
    });
  }

  /** Writes atomically: temp file, fsync, rename, fsync of the folder. Resolves once durable. */
  write(id: string, record: StoredLink): Promise<void> {
    return this.serialized(id, async () => {
      const file = this.fileFor(id);
      const temp = `${file}.${process.pid}.${this.tempCounter++}.tmp`;
      const handle = await fs.open(temp, 'w', 0o600);
      try {
        await handle.writeFile(this.encrypt(id, record));
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await fs.rename(temp, file);
      } catch (err) {
        await fs.unlink(temp).catch(() => undefined);
        throw err;
      }
      await syncDir(this.dir);
    });
  }

  /** Deletes the link's file (a revoke); copies moved aside as unreadable stay for a restore. */
  delete(id: string): Promise<void> {
    return this.serialized(id, () => removeFile(this.fileFor(id)));
  }

  /** Deletes the link's file and every copy of it moved aside as unreadable: its node is gone. */
  forget(id: string): Promise<void> {
    return this.serialized(id, async () => {
      const name = path.basename(this.fileFor(id));
      const names = (await fs.readdir(this.dir)).filter((n) => n === name || n.startsWith(`${name}.unreadable-`));
      await Promise.all(names.map((n) => removeFile(path.join(this.dir, n))));
    });
  }

  private encrypt(id: string, record: StoredLink): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: AUTH_TAG_BYTES });
    cipher.setAAD(Buffer.from(id));
    const data = Buffer.concat([cipher.update(JSON.stringify(record), 'utf8'), cipher.final()]);
    const envelope: Envelope = {
      v: 1,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    return JSON.stringify(envelope);
  }

  private decrypt(id: string, raw: string): StoredLink {
    const envelope = JSON.parse(raw) as Envelope;
    if (envelope.v !== 1) throw new Error('unknown store version');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(envelope.iv, 'base64'), {
      authTagLength: AUTH_TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]);
    const record = JSON.parse(plain.toString('utf8')) as StoredLink;
    if (typeof record?.tokens?.accessToken !== 'string') throw new Error('malformed record');
    return record;
  }

  /** One operation at a time per link, so a read never sees a half-finished write of ours. */
  private serialized<T>(id: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(operation, operation);
    const settled = next.catch(() => undefined);
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a folder; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}

/** A process killed mid-write leaves its temp file behind; one from another process is never renamed. */
async function removeStaleTempFiles(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const match = /\.json\.(\d+)\.\d+\.tmp$/.exec(name);
    if (match && Number(match[1]) !== process.pid) await fs.unlink(path.join(dir, name)).catch(() => undefined);
  }
}

async function removeFile(file: string): Promise<void> {
  await fs.unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Group or other bits on the folder or the key let another account on the computer read every
 * token: they are removed, and said once in plain words. (Windows has no such bits to fix.)
 */
async function makePrivate(dir: string, keyPath: string, logger: Logger): Promise<void> {
  if (process.platform === 'win32') return;
  const wanted: [string, number][] = [
    [dir, 0o700],
    [keyPath, 0o600],
  ];
  const fixed: string[] = [];
  for (const [file, mode] of wanted) {
    const found = await fs.stat(file).then(
      (stats) => stats.mode & 0o777,
      () => undefined,
    );
    if (found === undefined || (found & 0o077) === 0) continue;
    try {
      await fs.chmod(file, mode);
      fixed.push(`${file} (was ${octal(found)}, now ${octal(mode)})`);
    } catch (err) {
      logger.warn(
        `Other users of this computer may read ${file} (mode ${octal(found)}), and it could not be changed (${(err as Error).message}). Make it readable by Node-RED's user only: chmod ${octal(mode)} ${file}`,
      );
    }
  }
  if (fixed.length > 0) {
    logger.warn(`Other users of this computer could read the saved tokens; made private to Node-RED's user: ${fixed.join(', ')}.`);
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(3, '0');
}

async function readKey(keyPath: string): Promise<Buffer | null> {
  try {
    const key = Buffer.from((await fs.readFile(keyPath, 'utf8')).trim(), 'base64');
    return key.length === 32 ? key : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function listIds(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((name) => /^[^.].*\.json$/.test(name)).map((name) => name.slice(0, -'.json'.length));
}
