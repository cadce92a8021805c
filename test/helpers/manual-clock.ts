import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock, TimerHandle } from '../../src/core/clock.js';

interface ManualTimer {
  id: number;
  due: number;
  /** Arming order breaks ties between timers due at the same moment. */
  seq: number;
  callback: () => void;
}

/** A chain re-arming zero-delay timers would otherwise spin forever inside one advance. */
const MAX_FIRES_PER_ADVANCE = 10_000;

export interface ManualClockOptions {
  /** Epoch ms the clock starts at (default: the real time now, so ISO dates look sane). */
  start?: number;
  /**
   * After firing a timer, how long (real ms) `advance` waits for the engine to arm its next
   * timer before deciding the chain has ended. Chains that do real I/O (HTTP, fsync) need it.
   */
  idleMs?: number;
}

/**
 * A Clock that moves only when told. `advance(ms)` fires due timers in order and, after each,
 * lets the engine's promise chain (including real loopback I/O) run until it arms its next timer
 * or goes quiet, so one call can walk through many polls or refreshes.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private seq = 0;
  private armed = 0;
  private readonly timers = new Map<number, ManualTimer>();
  private readonly idleMs: number;

  constructor(options: ManualClockOptions = {}) {
    this.current = options.start ?? Date.now();
    this.idleMs = options.idleMs ?? 100;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    this.armed++;
    this.timers.set(id, { id, due: this.current + Math.max(0, delayMs), seq: this.seq++, callback });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Timers armed and neither fired nor cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Due times (epoch ms) of the pending timers, earliest first. */
  get dueTimes(): number[] {
    return this.sorted().map((t) => t.due);
  }

  /** The earliest pending due time, or undefined. */
  get nextDue(): number | undefined {
    return this.sorted()[0]?.due;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (including timers
   * armed by earlier callbacks), in due order. Resolves when time has reached `now + ms`.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    for (let fired = 0; ; fired++) {
      const next = this.sorted()[0];
      if (!next || next.due > target) break;
      if (fired >= MAX_FIRES_PER_ADVANCE) {
        throw new Error(`ManualClock: more than ${MAX_FIRES_PER_ADVANCE} timers fired in one advance; a timer loop re-arms without moving on`);
      }
      await this.fire(next);
    }
    this.current = Math.max(this.current, target);
    await this.settle();
  }

  /** Jumps to the earliest pending timer and fires it. Returns false when there is none. */
  async advanceToNext(): Promise<boolean> {
    const next = this.sorted()[0];
    if (!next) return false;
    await this.fire(next);
    return true;
  }

  /**
   * Fires timers one by one, in due order, until `promise` settles, and returns its outcome.
   * While no timer is pending it waits in real time (the engine is busy with I/O); it gives up
   * after `idleTimeoutMs` of real time without a timer to fire.
   */
  async runUntilSettled<T>(promise: Promise<T>, idleTimeoutMs = 10_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    let deadline = Date.now() + idleTimeoutMs;
    for (let fired = 0; !settled; ) {
      if (this.timers.size > 0) {
        if (++fired > MAX_FIRES_PER_ADVANCE) throw new Error('ManualClock: too many timers fired before the promise settled');
        await this.advanceToNext();
        deadline = Date.now() + idleTimeoutMs;
      } else if (Date.now() > deadline) {
        throw new Error(`ManualClock: no timer armed for ${idleTimeoutMs} ms and the promise has not settled`);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    return promise;
  }

  /** Sets the time without firing anything (for jumping past a horizon, then advancing by 0). */
  setNow(epochMs: number): void {
    this.current = epochMs;
  }

  /** Lets queued microtasks and a few I/O turns run. */
  async settle(turns = 5): Promise<void> {
    for (let i = 0; i < turns; i++) await nextTurn();
  }

  /** Waits (real time) until at least `count` timers are pending. */
  async waitForTimers(count = 1, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.timers.size < count) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${count} timer(s); ${this.timers.size} pending`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  private async fire(timer: ManualTimer): Promise<void> {
    this.timers.delete(timer.id);
    this.current = Math.max(this.current, timer.due);
    const armedBefore = this.armed;
    timer.callback();
    await this.settle();
    // Give real I/O started by the callback a chance to finish and arm the chain's next timer.
    const deadline = Date.now() + this.idleMs;
    while (this.armed === armedBefore && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await this.settle();
  }

  private sorted(): ManualTimer[] {
    return [...this.timers.values()].sort((a, b) => a.due - b.due || a.seq - b.seq);
  }
}
