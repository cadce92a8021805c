// A loopback OAuth token endpoint for benchmarks: the refresh_token grant with rotation, counting calls.
//
// Grants are issued out of band: a refresh token starting with "seed-" that the server has never seen
// is accepted once, as if the person had just approved. Every successful refresh rotates: the
// refresh token used becomes invalid (invalid_grant on reuse) and a new one is returned.
//
// Use it in-process (startTokenServer) or in its own process (spawnTokenServer) when the figures
// being measured are the memory of the process that talks to it.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

/**
 * Starts the token server on 127.0.0.1 on a free port.
 * @param {{ latencyMs?: number, expiresIn?: number }} [options] latencyMs delays every answer, like a
 *   provider's round trip; expiresIn is the access token lifetime in seconds.
 * @returns {Promise<{ tokenEndpoint: string, stats(): { calls: number, granted: number, refused: number },
 *   close(): Promise<void> }>}
 */
export async function startTokenServer({ latencyMs = 0, expiresIn = 3600 } = {}) {
  const used = new Set();
  const issued = new Set();
  const stats = { calls: 0, granted: 0, refused: 0 };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const answer = (status, body) => {
        const send = () => {
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify(body));
        };
        if (latencyMs > 0) setTimeout(send, latencyMs);
        else send();
      };
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/token') {
        answer(404, { error: 'not_found' });
        return;
      }
      stats.calls++;
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const token = form.get('refresh_token') ?? '';
      const valid =
        form.get('grant_type') === 'refresh_token' &&
        !used.has(token) &&
        (issued.has(token) || token.startsWith('seed-'));
      if (!valid) {
        stats.refused++;
        answer(400, { error: 'invalid_grant', error_description: 'refresh token unknown or already used' });
        return;
      }
      used.add(token);
      issued.delete(token);
      const next = `rt-${randomBytes(12).toString('hex')}`;
      issued.add(next);
      stats.granted++;
      answer(200, {
        access_token: `at-${randomBytes(12).toString('hex')}`,
        token_type: 'Bearer',
        expires_in: expiresIn,
        refresh_token: next,
        scope: 'bench',
      });
    });
  });
  // A thousand concurrent naive clients open a thousand sockets at once: a deep accept queue.
  await new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 2048 }, resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    tokenEndpoint: `http://127.0.0.1:${port}/token`,
    stats: () => ({ ...stats }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Runs the token server in a child process, so its sockets and buffers stay out of the memory
 * figures of the process under test.
 * @param {{ latencyMs?: number, expiresIn?: number }} [options]
 * @returns {Promise<{ tokenEndpoint: string, stats(): Promise<{ calls: number, granted: number, refused: number }>,
 *   close(): Promise<void> }>}
 */
export async function spawnTokenServer(options = {}) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', JSON.stringify(options)], { stdio: 'inherit' });
  /** @type {{ resolve(value: any): void, reject(err: Error): void }[]} */
  const waiting = [];
  child.on('message', (message) => waiting.shift()?.resolve(message));
  child.on('exit', (code) => {
    for (const pending of waiting.splice(0)) pending.reject(new Error(`token server exited (${code})`));
  });
  const ask = (request) =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      if (request) child.send(request);
    });
  const { tokenEndpoint } = /** @type {{ tokenEndpoint: string }} */ (await ask(null));
  return {
    tokenEndpoint,
    stats: () => ask({ type: 'stats' }),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

if (process.argv[2] === '--serve' && process.send) {
  const server = await startTokenServer(JSON.parse(process.argv[3] ?? '{}'));
  process.on('message', (message) => {
    if (message?.type === 'stats') process.send?.(server.stats());
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ tokenEndpoint: server.tokenEndpoint });
}
