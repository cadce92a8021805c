/**
 * A local fake of the parts of the Spotify Web API the examples use (`me`, `me/player/currently-playing`,
 * `me/player/devices`, `me/player/play`, `me/player/pause`), answering as Spotify documents, with
 * Spotify's error bodies. It accepts one access token and records every call.
 *
 * `route()` sends every request undici would make to https://api.spotify.com to this plain-http
 * server instead (keeping the Host header), so the example flows run unchanged: their relative URLs
 * resolve against the Spotify profile's API base as they would at home.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, type Dispatcher } from 'undici';

export interface FakeDevice {
  id: string;
  name: string;
  type: string;
  is_active: boolean;
  volume_percent: number;
}

export interface FakePlayback {
  device_id: string;
  context_uri: string;
  is_playing: boolean;
  track: { name: string; artist: string };
}

export interface SpotifyCall {
  method: string;
  path: string;
  host: string | undefined;
  authorization: string | undefined;
  body: string;
}

const SPOTIFY_API = 'https://api.spotify.com';

export class FakeSpotify {
  devices: FakeDevice[] = [
    { id: 'dev-kitchen-1', name: 'Kitchen', type: 'Speaker', is_active: false, volume_percent: 40 },
    { id: 'dev-living-2', name: 'Living Room', type: 'Speaker', is_active: false, volume_percent: 55 },
  ];
  playback: FakePlayback | null = null;
  readonly calls: SpotifyCall[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** The only access token it accepts. */
    readonly token: string,
  ) {}

  static async start(token: string): Promise<FakeSpotify> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const fake = new FakeSpotify(server, (server.address() as AddressInfo).port, token);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        fake.calls.push({ method: req.method ?? '', path: req.url ?? '', host: req.headers.host, authorization: req.headers.authorization, body });
        const [status, answer] = fake.answer(req.method ?? '', new URL(req.url ?? '/', SPOTIFY_API), req.headers.authorization, body);
        if (answer === undefined) res.writeHead(status).end();
        else res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer));
      });
    });
    return fake;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Routes undici's requests for https://api.spotify.com here until the returned function is called. */
  route(): () => void {
    const prototype = Agent.prototype as { dispatch: Dispatcher['dispatch'] };
    const own = Object.prototype.hasOwnProperty.call(prototype, 'dispatch');
    const original = prototype.dispatch;
    const origin = this.origin;
    prototype.dispatch = function dispatch(this: Agent, options, handler) {
      if (String(options.origin).replace(/\/$/, '') !== SPOTIFY_API) return original.call(this, options, handler);
      const headers = { ...(options.headers as Record<string, string> | undefined), host: 'api.spotify.com' };
      return original.call(this, { ...options, origin, headers }, handler);
    };
    return () => {
      if (own) prototype.dispatch = original;
      else delete (prototype as Partial<typeof prototype>).dispatch;
    };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(method: string, url: URL, authorization: string | undefined, body: string): [number, unknown?] {
    if (authorization !== `Bearer ${this.token}`) return error(401, 'Invalid access token');
    const route = `${method} ${url.pathname}`;
    switch (route) {
      case 'GET /v1/me':
        return [200, { id: 'alice', display_name: 'Alice', type: 'user' }];
      case 'GET /v1/me/player/devices':
        return [200, { devices: this.devices }];
      case 'GET /v1/me/player/currently-playing': {
        const playing = this.playback;
        if (!playing) return [204];
        return [200, {
          is_playing: playing.is_playing,
          context: { uri: playing.context_uri, type: 'playlist' },
          item: { name: playing.track.name, type: 'track', artists: [{ name: playing.track.artist }] },
        }];
      }
      case 'PUT /v1/me/player/play': {
        const deviceId = url.searchParams.get('device_id') ?? this.playback?.device_id;
        const device = this.devices.find((d) => d.id === deviceId);
        if (!device) return error(404, 'Device not found', 'NO_ACTIVE_DEVICE');
        let request: { context_uri?: unknown } = {};
        try {
          request = body ? (JSON.parse(body) as { context_uri?: unknown }) : {};
        } catch {
          return error(400, 'Malformed json');
        }
        for (const d of this.devices) d.is_active = d === device;
        const contextUri = typeof request.context_uri === 'string' ? request.context_uri : (this.playback?.context_uri ?? '');
        this.playback = { device_id: device.id, context_uri: contextUri, is_playing: true, track: { name: 'First Song', artist: 'The Band' } };
        return [204];
      }
      case 'PUT /v1/me/player/pause':
        if (!this.playback?.is_playing) return error(403, 'Player command failed: Restriction violated', 'UNKNOWN');
        this.playback.is_playing = false;
        return [204];
      default:
        return error(404, 'Service not found');
    }
  }
}

/** Spotify's error body: `{"error": {"status", "message", "reason"?}}`. */
function error(status: number, message: string, reason?: string): [number, unknown] {
  return [status, { error: { status, message, ...(reason ? { reason } : {}) } }];
}
