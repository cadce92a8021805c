import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from './clock.js';
import { LinkError } from './errors.js';

/** The wait a provider asked for when its 429 or 503 named none. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/** Requests are held at most this long; a longer Retry-After fails them at once. */
export const MAX_HOLD_MS = 60_000;

/** Whose requests wait in a gate, and how many of them may. */
export interface GateOwner {
  /** Requests of this owner waiting now. */
  waiting: number;
  /** More waiting requests than this fail at once with `rate_limited`. */
  readonly limit: number;
}

/** What a gate's listeners are told after every change: how long it holds requests, and how many wait. */
export interface GateState {
  /** `open`: requests go at once; `holding`: the provider asked to wait; `probing`: one request tries. */
  state: 'open' | 'holding' | 'probing';
  /** Epoch ms the current wait ends (0 when open). */
  until: number;
  /** Requests waiting, over every owner. */
  waiting: number;
}

interface Waiter {
  owner: GateOwner;
  resolve(probe: boolean): void;
  reject(err: LinkError): void;
}

/**
 * One queue per client id: when the provider answers 429 (or 503 with Retry-After), every request
 * for that app waits until the time it named; then one request goes alone (the probe), and only when
 * it is not refused do the others follow. So while the provider refuses it sees at most one request
 * per Retry-After period, however many flows ask.
 */
export class RateGate extends EventEmitter<{ change: [GateState] }> {
  private state: GateState['state'] = 'open';
  private until = 0;
  /** Set while the provider says the app's quota is used up: requests fail with it instead of waiting. */
  private quota: LinkError | null = null;
  private readonly queue: Waiter[] = [];
  private timer: TimerHandle | undefined;
  /** True once the wait has ended with nobody queued: the next request to come is the probe. */
  private probeDue = false;

  constructor(
    private readonly clock: Clock,
    private readonly providerName: string,
  ) {
    super();
    // Every request node of the app listens; dozens are normal, not a leak.
    this.setMaxListeners(0);
  }

  /**
   * Null when a request may go now (the common case costs no promise). Else a promise that resolves
   * when it may, with true when it goes as the probe, or rejects with `rate_limited` or
   * `quota_exceeded`. `retry` puts a refused request back at the head of the queue.
   */
  admit(owner: GateOwner, retry = false): Promise<boolean> | null {
    if (this.state === 'open') return null;
    if (this.quota) return Promise.reject(this.quota);
    if (this.state === 'probing' && this.probeDue && this.queue.length === 0) {
      this.probeDue = false;
      return Promise.resolve(true);
    }
    const waitMs = this.until - this.clock.now();
    if (waitMs > MAX_HOLD_MS) {
      return Promise.reject(
        new LinkError('rate_limited', `${this.providerName} asked to wait ${Math.ceil(waitMs / 1000)} s, longer than requests are held (${MAX_HOLD_MS / 1000} s); this one was not sent.`, { retryAfterMs: waitMs }),
      );
    }
    if (!retry && owner.waiting >= owner.limit) {
      return Promise.reject(
        new LinkError('rate_limited', `${this.providerName} asked to slow down and ${owner.waiting} requests of this node are already waiting (the queue limit); this one was not sent.`, { retryAfterMs: Math.max(0, waitMs) }),
      );
    }
    return new Promise<boolean>((resolve, reject) => {
      owner.waiting++;
      const waiter: Waiter = { owner, resolve, reject };
      if (retry) this.queue.unshift(waiter);
      else this.queue.push(waiter);
      this.changed();
    });
  }

  /**
   * The provider refused a request (429, or 503 with Retry-After): hold every request for
   * `retryAfterMs`. `probe` says whether it was the probe; a refusal of a request that left before
   * the gate closed only lengthens the wait. With `quota`, waiting is pointless: the queue fails with it.
   */
  refused(retryAfterMs: number | undefined, probe: boolean, quota: LinkError | null = null): void {
    const until = this.clock.now() + (retryAfterMs ?? DEFAULT_RETRY_AFTER_MS);
    const rearm = this.state === 'open' || (this.state === 'probing' && probe) || until > this.until;
    this.until = Math.max(this.until, until);
    if (this.state === 'open' || probe) this.state = 'holding';
    if (quota) {
      this.quota = quota;
      for (const waiter of this.queue.splice(0)) this.leave(waiter).reject(quota);
    }
    if (rearm && this.state === 'holding') this.arm();
    this.changed();
  }

  /** The probe came back without a refusal: everyone waiting goes, in order. */
  reopened(): void {
    if (this.state !== 'probing') return;
    this.state = 'open';
    this.until = 0;
    this.quota = null;
    this.probeDue = false;
    for (const waiter of this.queue.splice(0)) this.leave(waiter).resolve(false);
    this.changed();
  }

  /** Fails the waiting requests of `owner` (its node was closed). */
  drop(owner: GateOwner, reason: LinkError): void {
    for (const waiter of this.queue.filter((w) => w.owner === owner)) {
      this.queue.splice(this.queue.indexOf(waiter), 1);
      this.leave(waiter).reject(reason);
    }
    this.changed();
  }

  /** How long it holds requests and how many wait. */
  current(): GateState {
    return { state: this.state, until: this.state === 'open' ? 0 : this.until, waiting: this.queue.length };
  }

  private arm(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = this.clock.setTimer(Math.max(0, this.until - this.clock.now()), () => {
      this.timer = undefined;
      this.state = 'probing';
      this.quota = null;
      const next = this.queue.shift();
      if (next) this.leave(next).resolve(true);
      else this.probeDue = true;
      this.changed();
    });
  }

  private leave(waiter: Waiter): Waiter {
    waiter.owner.waiting--;
    return waiter;
  }

  private changed(): void {
    this.emit('change', this.current());
  }
}

const gates = new WeakMap<Clock, Map<string, RateGate>>();

/** The gate of one app (client id) at one provider; one per clock, so tests with their own clocks do not share. */
export function gateFor(clock: Clock, key: string, providerName: string): RateGate {
  let byKey = gates.get(clock);
  if (!byKey) gates.set(clock, (byKey = new Map()));
  let gate = byKey.get(key);
  if (!gate) byKey.set(key, (gate = new RateGate(clock, providerName)));
  return gate;
}
