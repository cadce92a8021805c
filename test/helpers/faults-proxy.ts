/**
 * A loopback HTTP proxy in front of a provider that can fail on demand: forward (`pass`), refuse
 * connections (`refuse`: the port is closed), answer 503 with Retry-After (`unavailable`), or accept
 * and never answer (`hang`); and refuse refreshes with a false `invalid_grant` (`falseInvalidGrants`). It counts token-endpoint attempts and collects every secret that goes
 * through it (tokens, device codes, PKCE verifiers, client secrets) for the secrets scan.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'unavailable' | 'hang';

export interface ProxyAttempt {
  /** Wall-clock ms when the request arrived. */
  at: number;
  path: string;
  grantType: string | undefined;
  mode: ProxyMode;
  /** Status sent back (0: none, the request hung or was cut). */
  status: number;
}

/** Form and JSON fields whose values are secrets. */
const SECRET_FIELDS = ['access_token', 'refresh_token', 'id_token', 'device_code', 'code', 'code_verifier', 'client_secret'];

export class FaultProxy {
  mode: ProxyMode = 'pass';
  /** Retry-After sent with 503 (seconds). */
  retryAfterSeconds = 5;
  /**
   * How many refresh requests to refuse with a false `invalid_grant` before passing again (a
   * provider's outage that blames the token): the provider never sees them.
   */
  falseInvalidGrants = 0;
  readonly attempts: ProxyAttempt[] = [];
  /** Every secret value seen in a request or response body. */
  readonly secrets = new Set<string>();
  /** Called for each token-endpoint response that was forwarded, after it was sent on. */
  onTokenResponse: ((grantType: string | undefined, status: number) => void) | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly hung = new Set<ServerResponse>();

  private constructor(
    readonly target: URL,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards to `target` (an origin). */
  static async start(target: string): Promise<FaultProxy> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new FaultProxy(new URL(target), port);
    await proxy.listen();
    return proxy;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Token-endpoint attempts (POST …/token), optionally only those of one grant type. */
  tokenAttempts(grantType?: string): ProxyAttempt[] {
    return this.attempts.filter((a) => /\/token$/.test(a.path) && (!grantType || a.grantType === grantType));
  }

  /** Switches mode; `refuse` closes the port, leaving it reopens it. */
  async setMode(mode: ProxyMode): Promise<void> {
    const previous = this.mode;
    this.mode = mode;
    if (mode === 'refuse' && previous !== 'refuse') await this.unlisten();
    if (mode !== 'refuse' && previous === 'refuse') await this.listen();
  }

  async close(): Promise<void> {
    for (const response of this.hung) response.socket?.destroy();
    this.hung.clear();
    await this.unlisten();
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Closes the listener and every idle or active connection except hung ones (they stay silent). */
  private async unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const hungSockets = new Set([...this.hung].map((r) => r.socket));
    for (const socket of this.sockets) if (!hungSockets.has(socket)) socket.destroy();
    server.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const form = new URLSearchParams(body.toString('utf8'));
    this.collect(form);
    const attempt: ProxyAttempt = {
      at: Date.now(),
      path: req.url ?? '',
      grantType: form.get('grant_type') ?? undefined,
      mode: this.mode,
      status: 0,
    };
    this.attempts.push(attempt);
    if (this.mode === 'hang') {
      this.hung.add(res);
      res.on('close', () => this.hung.delete(res));
      return;
    }
    if (this.mode === 'unavailable') {
      attempt.status = 503;
      res.writeHead(503, { 'content-type': 'text/html', 'retry-after': String(this.retryAfterSeconds) });
      res.end('<html><body>Service temporarily unavailable</body></html>');
      return;
    }
    if (this.falseInvalidGrants > 0 && attempt.grantType === 'refresh_token') {
      this.falseInvalidGrants--;
      attempt.status = 400;
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }));
      return;
    }
    const upstream = request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.target.host },
      },
      async (answer) => {
        const payload = await readBody(answer);
        attempt.status = answer.statusCode ?? 0;
        this.collectJson(payload);
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(payload.length);
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(payload, () => {
          if (/\/token$/.test(attempt.path)) this.onTokenResponse?.(attempt.grantType, attempt.status);
        });
      },
    );
    request_errors(upstream, res);
    upstream.end(body);
  }

  private collect(form: URLSearchParams): void {
    for (const field of SECRET_FIELDS) {
      const value = form.get(field);
      if (value) this.secrets.add(value);
    }
  }

  private collectJson(payload: Buffer): void {
    try {
      const json = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      for (const field of SECRET_FIELDS) {
        const value = json?.[field];
        if (typeof value === 'string' && value) this.secrets.add(value);
      }
    } catch {
      // Not JSON: nothing to collect.
    }
  }
}

function request_errors(upstream: ReturnType<typeof request>, res: ServerResponse): void {
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
}

export function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
