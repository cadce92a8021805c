/**
 * A local API server on a free loopback port that records every request (above all its
 * `Authorization` header) and either answers as a test scripts it or passes the request on to a
 * real server (the test provider's userinfo), so tests see exactly where a token went.
 */
import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as it arrived. */
export interface ApiCall {
  /** `now()` when it arrived (the test's clock). */
  at: number;
  method: string;
  path: string;
  authorization: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A scripted answer. */
export interface ApiReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

/** Scripted answer for a call, or undefined to pass it on to the `forwardTo` origin (else 404). */
export type ApiScript = (call: ApiCall) => ApiReply | undefined;

export class RecordingApi {
  readonly calls: ApiCall[] = [];
  /** Answers by script; undefined from it (or no script) forwards. */
  script: ApiScript | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly forwardTo: string | undefined,
    private readonly now: () => number,
  ) {}

  /** Listens on 127.0.0.1; `forwardTo` is an origin requests are passed on to unless the script answers. */
  static async start(options: { forwardTo?: string; now?: () => number } = {}): Promise<RecordingApi> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const api = new RecordingApi(server, (server.address() as AddressInfo).port, options.forwardTo, options.now ?? Date.now);
    server.on('connection', (socket) => {
      api.sockets.add(socket);
      socket.on('close', () => api.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const call: ApiCall = {
          at: api.now(),
          method: req.method ?? '',
          path: req.url ?? '',
          authorization: req.headers.authorization,
          headers: req.headers,
          body: body.toString('utf8'),
        };
        api.calls.push(call);
        const reply = api.script?.(call);
        if (reply) {
          const text = typeof reply.body === 'string' || reply.body === undefined ? (reply.body ?? '') : JSON.stringify(reply.body);
          const type = typeof reply.body === 'object' ? { 'content-type': 'application/json' } : {};
          res.writeHead(reply.status, { ...type, ...reply.headers }).end(text);
          return;
        }
        if (!api.forwardTo) {
          res.writeHead(404).end();
          return;
        }
        const target = new URL(req.url ?? '/', api.forwardTo);
        const { host: _host, ...headers } = req.headers;
        const out = forward(target, { method: req.method, headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        out.on('error', () => res.writeHead(502).end());
        out.end(body);
      });
    });
    return api;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `host:port`, as a request node's Allowed hosts entry. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
