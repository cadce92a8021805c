import type { Clock } from './clock.js';

const MAX_TRACKED_ADDRESSES = 1000;

/** Counts failures per client address in a sliding window, and says when one must wait. */
export class AddressLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds `address` must still wait, or null when it may try. */
  waitFor(address: string): number | null {
    const now = this.clock.now();
    const recent = (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs);
    if (recent.length === 0) this.failures.delete(address);
    else this.failures.set(address, recent);
    return recent.length < this.limit ? null : recent[0]! + this.windowMs - now;
  }

  recordFailure(address: string): void {
    const recent = this.failures.get(address) ?? [];
    recent.push(this.clock.now());
    // Re-inserting moves the address to the end, so the first key is always the stalest.
    this.failures.delete(address);
    this.failures.set(address, recent.slice(-this.limit));
    if (this.failures.size > MAX_TRACKED_ADDRESSES) {
      const stalest = this.failures.keys().next().value;
      if (stalest !== undefined) this.failures.delete(stalest);
    }
  }
}
