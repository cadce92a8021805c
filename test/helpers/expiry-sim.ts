import type { Link } from '../../src/core/link.js';
import { profileFor } from '../../src/core/profiles/index.js';
import type { ProviderSettings } from '../../src/core/providers.js';
import type { LinkEvent } from '../../src/core/snapshot.js';
import { randomBytes } from 'node:crypto';
import { TokenStore, type StoredLink } from '../../src/core/store.js';
import { instantPairing, makeLink, type Recorder } from './core-fixtures.js';
import { ManualClock } from './manual-clock.js';
import { MockProvider } from './mock-provider.js';

export const DAY = 24 * 3600_000;

/** One answer of the scripted token endpoint. */
export interface SimAnswer {
  status?: number;
  json: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface SimOptions {
  /** Provider settings; the link runs through a stand-in pairing method, so `flow` is forced to `pairing`. */
  settings: ProviderSettings;
  /** What linking gets from the token endpoint. */
  linked: Record<string, unknown>;
  /** The token endpoint's answer to the n-th refresh (from 1), given the refresh token presented. */
  refresh(n: number, presented: string): SimAnswer;
  /** Where the account is read, and the body that names it (else the account stays unknown). */
  account?: { url: string; body: Record<string, unknown> };
  relinkLeadDays?: number;
  start?: number;
}

/**
 * One link living through simulated months: a provider preset's token endpoint scripted with
 * MockAgent (every refresh answered by `refresh`), a real store, and a ManualClock moved a day at
 * a time. Records every token call and every event with its time.
 */
export class ExpirySim {
  readonly clock: ManualClock;
  readonly mock: MockProvider;
  /** Refresh requests the provider saw: when, and the refresh token presented. */
  readonly refreshes: { at: number; presented: string }[] = [];
  readonly events: (LinkEvent & Record<string, unknown>)[] = [];
  link!: Link;
  store!: TokenStore;
  rec!: Recorder;
  linkedAt = 0;

  private constructor(readonly options: SimOptions) {
    this.clock = new ManualClock({ start: options.start ?? Date.parse('2026-03-01T10:00:00.000Z'), idleMs: 500 });
    const tokenUrl = new URL(options.settings.tokenEndpoint ?? profileTokenEndpoint(options.settings));
    this.mock = new MockProvider(this.clock, tokenUrl.origin);
    this.mock.agent
      .get(tokenUrl.origin)
      .intercept({ path: tokenUrl.pathname, method: 'POST' })
      .reply((request) => {
        const form = new URLSearchParams(String(request.body ?? ''));
        const presented = form.get('refresh_token') ?? '';
        this.refreshes.push({ at: this.clock.now(), presented });
        const answer = options.refresh(this.refreshes.length, presented);
        return {
          statusCode: answer.status ?? 200,
          data: JSON.stringify(answer.json),
          responseOptions: { headers: { 'content-type': 'application/json', ...answer.headers } },
        };
      })
      .persist();
    if (options.account) {
      const url = new URL(options.account.url);
      this.mock.agent
        .get(url.origin)
        .intercept({ path: url.pathname, method: 'GET' })
        .reply(200, options.account.body, { headers: { 'content-type': 'application/json' } })
        .persist();
    }
  }

  /** A sim whose link has just been approved (30 s after the code was shown). */
  static async linked(options: SimOptions): Promise<ExpirySim> {
    const sim = new ExpirySim(options);
    await sim.open();
    const { finished } = await sim.link.start();
    await sim.clock.advance(30_000);
    const done = await finished;
    if (done.state !== 'linked') throw new Error(`linking ended ${done.state}: ${JSON.stringify(done.error)}`);
    sim.linkedAt = sim.clock.now();
    return sim;
  }

  /** Days since linking, to two decimals. */
  day(at: number): number {
    return Math.round(((at - this.linkedAt) / DAY) * 100) / 100;
  }

  /** Moves the clock `days` forward, a day at a time, firing everything due. */
  async runDays(days: number): Promise<void> {
    for (let i = 0; i < Math.floor(days); i++) await this.clock.advance(DAY);
    const rest = days - Math.floor(days);
    if (rest > 0) await this.clock.advance(rest * DAY);
  }

  /** Node-RED stops and starts again `offDays` later (0: at once): a new Link on the same store. */
  async restart(offDays = 0): Promise<void> {
    await this.link.close();
    const stoppedAt = this.clock.now();
    this.clock.setNow(stoppedAt + offDays * DAY);
    this.notes.push({ at: stoppedAt, text: offDays ? `Node-RED off for ${offDays} days` : 'Node-RED restarted' });
    await this.open(this.store);
    await this.clock.advance(0);
  }

  /**
   * The link's life as lines, one per event, with the refreshes between them summed up:
   * `day  12.00  relink_soon …`, `day 0.00–165.96  refreshed ×4425, every 54 min`.
   */
  timeline(): string[] {
    const lines: string[] = [];
    let run: number[] = [];
    const flush = (): void => {
      if (run.length === 0) return;
      const gaps = run.slice(1).map((at, i) => at - run[i]!);
      const every = gaps.length ? `, every ${formatSpan(Math.min(...gaps))}${Math.min(...gaps) === Math.max(...gaps) ? '' : ` to ${formatSpan(Math.max(...gaps))}`}` : '';
      lines.push(`day ${pad(this.day(run[0]!))}–${this.day(run.at(-1)!).toFixed(2)}  refreshed ×${run.length}${every}`);
      run = [];
    };
    const entries = [
      ...this.events.map((e) => ({ at: Date.parse(e.at), event: e, text: '' })),
      ...this.notes.map((n) => ({ at: n.at, event: undefined, text: n.text })),
    ].sort((a, b) => a.at - b.at);
    for (const { at, event, text } of entries) {
      if (event?.event_type === 'refreshed') {
        run.push(at);
        continue;
      }
      flush();
      lines.push(`day ${pad(this.day(at))}  ${event ? describe(event) : text}`);
    }
    flush();
    return lines;
  }

  /** Things that happened around the link (restarts), for the timeline. */
  readonly notes: { at: number; text: string }[] = [];

  /** The events of one type. */
  eventsOf(type: LinkEvent['event_type']): (LinkEvent & Record<string, unknown>)[] {
    return this.events.filter((e) => e.event_type === type);
  }

  /** Gaps between consecutive refresh requests, in ms. */
  gaps(): number[] {
    return this.refreshes.slice(1).map((r, i) => r.at - this.refreshes[i]!.at);
  }

  async close(): Promise<void> {
    await this.link.close();
    await this.mock.close();
  }

  private async open(store?: TokenStore): Promise<void> {
    const made = await makeLink({
      settings: { ...this.options.settings, flow: 'pairing' },
      clock: this.clock,
      http: { dispatcher: this.mock.dispatcher },
      pairing: instantPairing(this.clock, this.options.linked as never),
      relinkLeadDays: this.options.relinkLeadDays,
      store: store ?? new MemoryStore(),
    });
    this.link = made.link;
    this.store = made.store;
    this.rec = made.rec;
    this.link.on('event', (event) => this.events.push(event as LinkEvent & Record<string, unknown>));
    await this.link.load();
  }
}

function profileTokenEndpoint(settings: ProviderSettings): string {
  const url = profileFor(settings.provider)?.endpoints.tokenEndpoint;
  if (!url) throw new Error(`give settings.tokenEndpoint for ${settings.provider}`);
  return url;
}

/** A TokenStore kept in memory: months of refreshes without an fsync each. */
export class MemoryStore extends TokenStore {
  private readonly records = new Map<string, string>();
  constructor() {
    super('/nonexistent/account-link-memory', randomBytes(32));
  }
  override async read(id: string): Promise<StoredLink | null> {
    const raw = this.records.get(id);
    return raw === undefined ? null : (JSON.parse(raw) as StoredLink);
  }
  override async write(id: string, record: StoredLink): Promise<void> {
    this.records.set(id, JSON.stringify(record));
  }
  override async delete(id: string): Promise<void> {
    this.records.delete(id);
  }
  override async list(): Promise<string[]> {
    return [...this.records.keys()];
  }
}

function pad(day: number): string {
  return day.toFixed(2).padStart(6);
}

function formatSpan(ms: number): string {
  if (ms >= DAY) return `${Math.round((ms / DAY) * 10) / 10} days`;
  if (ms >= 2 * 3600_000) return `${Math.round((ms / 3600_000) * 10) / 10} h`;
  return `${Math.round(ms / 60_000)} min`;
}

function describe(event: LinkEvent & Record<string, unknown>): string {
  switch (event.event_type) {
    case 'linked':
      return `linked as ${event.account?.name ?? 'an unknown account'}`;
    case 'relink_soon':
      return `relink_soon, days_left ${event.days_left}, refresh_expires_at ${event.refresh_expires_at}`;
    case 'relink_required':
    case 'refresh_failed':
    case 'error':
      return `${event.event_type} (${event.error.code})`;
    default:
      return event.event_type;
  }
}
