/**
 * A fake token endpoint on a raw loopback socket that answers each request with the next entry of
 * a corpus of malformed responses (issue 6, case 4): truncated JSON, wrong types, HTML, huge and
 * empty bodies, missing fields, wrong token_type and content-type, slow drips, broken HTTP.
 */
import net from 'node:net';

export interface CorpusEntry {
  name: string;
  /**
   * Set when the answer is odd but usable (a correct token body under a wrong content-type, which
   * openid-client accepts as real providers need): the refresh succeeds and rotates to this token.
   */
  tolerated?: { refreshToken: string };
  /** Writes the answer; may dribble, cut or reset the connection. */
  answer(socket: net.Socket): Promise<void>;
}

export interface ReceivedRequest {
  path: string;
  form: URLSearchParams;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fake token endpoint: `next` decides each answer. */
export class FakeTokenEndpoint {
  readonly requests: ReceivedRequest[] = [];
  next: CorpusEntry | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<FakeTokenEndpoint> {
    let endpoint: FakeTokenEndpoint | undefined;
    const server = net.createServer((socket) => endpoint!.accept(socket));
    endpoint = new FakeTokenEndpoint(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return endpoint;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/token`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const headerEnd = buffered.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const head = buffered.subarray(0, headerEnd).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < headerEnd + 4 + length) return;
      socket.off('data', onData);
      const body = buffered.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      this.requests.push({ path: head.split(' ')[1] ?? '', form: new URLSearchParams(body) });
      const entry = this.next ?? goodAnswer('fake-access', 'fake-refresh');
      entry.answer(socket).catch(() => socket.destroy());
    };
    socket.on('data', onData);
  }
}

function write(socket: net.Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.write(data, () => resolve());
  });
}

/** A complete HTTP/1.1 answer that closes the connection. */
function raw(status: string, headers: Record<string, string>, body: string | Buffer, withLength = true): CorpusEntry['answer'] {
  return async (socket) => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const lines = [`HTTP/1.1 ${status}`, 'connection: close'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    if (withLength) lines.push(`content-length: ${bytes.length}`);
    await write(socket, `${lines.join('\r\n')}\r\n\r\n`);
    await write(socket, bytes);
    socket.end();
  };
}

const JSON_TYPE = { 'content-type': 'application/json' };
const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};
const statusLine = (code: number) => `${code} ${STATUS_TEXT[code] ?? 'Whatever'}`;

function json(code: number, body: unknown, headers: Record<string, string> = JSON_TYPE): CorpusEntry['answer'] {
  return raw(statusLine(code), headers, typeof body === 'string' ? body : JSON.stringify(body));
}

/** A correct refresh answer (rotating). */
export function goodAnswer(accessToken: string, refreshToken: string, expiresIn = 3600): CorpusEntry {
  return {
    name: 'good',
    answer: json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refreshToken, scope: 'read' }),
  };
}

/** At least 200 malformed answers. `secretish` values appear in some bodies: the scan must not find them anywhere. */
export function malformedCorpus(secretish: { accessToken: string; refreshToken: string }): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  const add = (name: string, answer: CorpusEntry['answer']) => entries.push({ name, answer });
  const good = { access_token: secretish.accessToken, token_type: 'Bearer', expires_in: 3600, refresh_token: secretish.refreshToken, scope: 'read' };
  const goodText = JSON.stringify(good);

  // Truncated JSON, cut at 50 places.
  for (let i = 0; i < 50; i++) {
    const cut = Math.max(1, Math.floor(((i + 0.5) / 50) * (goodText.length - 1)));
    add(`truncated at ${cut}/${goodText.length}`, json(200, goodText.slice(0, cut)));
  }

  // Wrong types for each field.
  const wrong: Record<string, unknown[]> = {
    access_token: [42, null, true, false, {}, [], [secretish.accessToken], ''],
    token_type: [42, null, true, {}, [], ''],
    // A numeric string ("3600", [3600]) is read as a number by openid-client, as many providers need.
    expires_in: ['soon', null, true, {}, [], 'NaN', '', 'x3600', '-5'],
    refresh_token: [42, true, {}, [], [secretish.refreshToken]],
    scope: [42, true, {}, ['read']],
  };
  for (const [field, values] of Object.entries(wrong)) {
    for (const value of values) add(`${field} = ${JSON.stringify(value)}`, json(200, { ...good, [field]: value }));
  }

  // HTML where JSON was expected.
  const html = '<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Something went wrong</h1></body></html>';
  for (const code of [200, 400, 401, 403, 404, 500, 502, 504]) {
    add(`HTML ${code}`, raw(statusLine(code), { 'content-type': 'text/html' }, html));
    add(`HTML ${code} labelled JSON`, raw(statusLine(code), JSON_TYPE, html));
  }
  add('captive portal 302', raw('302 Found', { location: 'http://192.168.1.1/login', 'content-type': 'text/html' }, html));
  add('307 redirect to elsewhere', raw('307 Temporary Redirect', { location: 'http://127.0.0.1:9/token' }, ''));

  // Busy answers, with Retry-After in every shape.
  for (const code of [503, 429]) {
    for (const retryAfter of [undefined, '3', 'abc', '-3', 'Wed, 21 Oct 2015 07:28:00 GMT', '99999999999', '1.5']) {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
      add(`${code} Retry-After ${retryAfter ?? '(none)'}`, raw(statusLine(code), headers, 'busy'));
    }
  }

  // Missing fields and bodies that are not objects.
  const { access_token: _a, ...noAccess } = good;
  const { token_type: _t, ...noType } = good;
  for (const [name, body] of [
    ['{}', {}],
    ['no access_token', noAccess],
    ['no token_type', noType],
    ['only token_type', { token_type: 'Bearer' }],
    ['only expires_in and refresh_token', { expires_in: 3600, refresh_token: secretish.refreshToken }],
    ['array', [good]],
    ['null', null],
    ['string', 'access_token'],
    ['number', 42],
    ['true', true],
  ] as [string, unknown][]) {
    add(`missing: ${name}`, json(200, JSON.stringify(body)));
  }

  // Token types we cannot use.
  for (const type of ['mac', 'Basic', 'pop', 'N_A', 'bearer bearer', 'Bearer2', 'dpop-ish', 'x'.repeat(5000)]) {
    add(`token_type ${type.slice(0, 20)}`, json(200, { ...good, token_type: type }));
  }

  // Content types that are not JSON: a broken body fails, a correct token body is tolerated.
  const types = ['text/plain', 'text/html', 'application/xml', 'application/x-www-form-urlencoded', 'application/jsonp', 'json', 'multipart/form-data; boundary=x', 'image/png'];
  for (const [i, type] of types.entries()) {
    add(`content-type ${type}, truncated body`, raw('200 OK', { 'content-type': type }, goodText.slice(0, 20 + i * 7)));
    const refreshToken = `tolerated-refresh-token-${i}-q1w2e3`;
    const body = JSON.stringify({ ...good, access_token: `tolerated-access-token-${i}-r4t5y6`, refresh_token: refreshToken });
    entries.push({ name: `content-type ${type}, correct body`, answer: raw('200 OK', { 'content-type': type }, body), tolerated: { refreshToken } });
  }
  add('no content-type, HTML body', raw('200 OK', {}, html));
  add('form-encoded body (GitHub without Accept)', raw('200 OK', { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ access_token: secretish.accessToken, token_type: 'bearer', scope: 'read' }).toString()));

  // Empty bodies.
  add('200 empty JSON', raw('200 OK', JSON_TYPE, ''));
  add('200 empty, no length, close', raw('200 OK', JSON_TYPE, '', false));
  add('204', raw('204 No Content', {}, '', false));
  add('400 empty', raw('400 Bad Request', JSON_TYPE, ''));
  add('401 empty', raw('401 Unauthorized', {}, ''));
  add('500 empty', raw('500 Internal Server Error', {}, ''));
  add('200 whitespace', raw('200 OK', JSON_TYPE, '   \n\t  '));

  // Huge bodies.
  const big = 'x'.repeat(2 * 1024 * 1024);
  add('2 MiB JSON with length', json(200, { ...good, padding: big }));
  add('2 MiB JSON chunked', async (socket) => {
    await write(socket, 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
    const body = Buffer.from(JSON.stringify({ ...good, padding: big }));
    for (let offset = 0; offset < body.length; offset += 64 * 1024) {
      const piece = body.subarray(offset, offset + 64 * 1024);
      await write(socket, `${piece.length.toString(16)}\r\n`);
      await write(socket, piece);
      await write(socket, '\r\n');
    }
    await write(socket, '0\r\n\r\n');
    socket.end();
  });
  add('1 MiB of whitespace before a good body, no length', raw('200 OK', JSON_TYPE, ' '.repeat(1024 * 1024 + 1) + goodText, false));
  add('1.5 MiB access token', json(200, { ...good, access_token: 'a'.repeat(1536 * 1024) }));
  add('length claims 10 GB', raw('200 OK', { ...JSON_TYPE, 'content-length': '10000000000' }, goodText, false));
  add('huge header', raw('200 OK', { ...JSON_TYPE, 'x-filler': 'y'.repeat(60 * 1024) }, goodText.slice(0, 10)));

  // Slow drips.
  const drip = (name: string, text: string, gapMs: number, finish: 'end' | 'cut') =>
    add(name, async (socket) => {
      await write(socket, `HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n`);
      for (const char of text) {
        await write(socket, char);
        await sleep(gapMs);
      }
      if (finish === 'cut') socket.destroy();
      else socket.end();
    });
  drip('slow drip of truncated JSON then close', goodText.slice(0, 40), 50, 'end');
  drip('slow drip of HTML', html.slice(0, 60), 40, 'end');
  drip('slow drip then reset', goodText.slice(0, 30), 60, 'cut');
  add('headers dripped then reset', async (socket) => {
    for (const char of 'HTTP/1.1 200 OK\r\ncontent-type: appl') {
      await write(socket, char);
      await sleep(30);
    }
    socket.destroy();
  });

  // Broken HTTP.
  add('close without answer', async (socket) => void socket.end());
  add('reset without answer', async (socket) => void socket.destroy());
  add('reset after headers', async (socket) => {
    await write(socket, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"access_');
    socket.destroy();
  });
  add('not HTTP at all', async (socket) => {
    await write(socket, 'SSH-2.0-OpenSSH_9.2\r\n');
    socket.end();
  });
  add('bad status line', raw('abc', JSON_TYPE, goodText));
  add('two conflicting lengths', raw('200 OK', { ...JSON_TYPE, 'content-length': '5' }, goodText));
  add('bad chunk size', async (socket) => {
    await write(socket, 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n');
    socket.end();
  });
  add('claims gzip, is not', raw('200 OK', { ...JSON_TYPE, 'content-encoding': 'gzip' }, goodText));
  add('claims br, is garbage', raw('200 OK', { ...JSON_TYPE, 'content-encoding': 'br' }, Buffer.from([1, 2, 3, 4, 5])));
  add('JSON array of tokens', json(200, [goodText]));
  add('HTTP/0.9 style body only', async (socket) => {
    await write(socket, goodText);
    socket.end();
  });

  // OAuth error bodies that are not a verdict on the grant.
  for (const [name, body] of [
    ['error 123', { error: 123 }],
    ['error null', { error: null }],
    ['server_error', { error: 'server_error' }],
    ['temporarily_unavailable', { error: 'temporarily_unavailable' }],
    ['long error', { error: 'e'.repeat(10_000) }],
    ['long description', { error: 'invalid_request', error_description: 'd'.repeat(5_000) }],
    ['markup in error', { error: '<script>alert(1)</script>', error_description: '<b>bold</b>\n\nnew lines' }],
    ['slow_down at refresh', { error: 'slow_down' }],
    ['authorization_pending at refresh', { error: 'authorization_pending' }],
  ] as [string, unknown][]) {
    add(`200 ${name}`, json(200, body));
    add(`400 ${name}`, json(400, body));
  }

  // JSON oddities.
  add('BOM before JSON', raw('200 OK', JSON_TYPE, `\ufeff${goodText.slice(0, -1)}`));
  add('NaN literal', json(200, goodText.replace('3600', 'NaN')));
  add('deep nesting', json(200, `${'['.repeat(100_000)}${']'.repeat(100_000)}`));
  add('expires_in 1e400', json(200, goodText.replace('3600', '1e400')));
  add('expires_in -5', json(200, { ...good, expires_in: -5 }));
  // An absurd but numeric lifetime is capped (it once made a date no snapshot could print).
  entries.push({
    name: 'expires_in 1e20',
    answer: json(200, { ...good, access_token: 'tolerated-access-token-huge-u7i8o9', refresh_token: 'tolerated-refresh-token-huge-p0a1s2', expires_in: 1e20 }),
    tolerated: { refreshToken: 'tolerated-refresh-token-huge-p0a1s2' },
  });
  add('refresh_token_expires_in 1e400 beside a truncated body', json(200, `{"refresh_token_expires_in":1e400,"access_token":"a`));
  add('duplicate key, last one wrong', json(200, goodText.replace('"token_type":"Bearer"', '"token_type":"Bearer","token_type":7')));
  add('trailing garbage', json(200, `${goodText}garbage`));
  add('two JSON documents', json(200, `${goodText}${goodText}`));
  add('JSON with comments', json(200, goodText.replace('{', '{/* hi */')));
  add('single quotes', json(200, goodText.replace(/"/g, "'")));
  add('latin-1 bytes', raw('200 OK', JSON_TYPE, Buffer.from([0x7b, 0x22, 0xe9, 0xff, 0xfe, 0x22])));
  add('UTF-16 JSON', raw('200 OK', { 'content-type': 'application/json; charset=utf-16le' }, Buffer.from(goodText, 'utf16le')));
  return entries;
}
