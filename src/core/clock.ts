/**
 * Time as the engine sees it. Every delay the engine waits goes through a Clock, so tests and
 * benchmarks can drive hours of polling and refreshing in milliseconds, and so a closed link can
 * prove it left no timer behind.
 */
export interface Clock {
  now(): number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** A timer set on a Clock, to clear it again. */
export type TimerHandle = { readonly id: number };

class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    const due = Date.now() + Math.max(0, delayMs);
    // Node's timers overflow past 2^31-1 ms (~24.8 days): a refresh months away re-arms instead.
    const arm = (): void => {
      const remaining = due - Date.now();
      const timer = setTimeout(() => {
        if (remaining > MAX_TIMER_MS) return arm();
        this.timers.delete(id);
        callback();
      }, Math.min(Math.max(0, remaining), MAX_TIMER_MS));
      timer.unref();
      this.timers.set(id, timer);
    };
    arm();
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.timers.get(handle.id);
    if (timer) clearTimeout(timer);
    this.timers.delete(handle.id);
  }

  /** Timers armed and not yet fired or cleared: benchmarks report it per link. */
  get pending(): number {
    return this.timers.size;
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock: `Date.now()` and unref'd timers that never keep Node-RED alive. */
export const systemClock = new SystemClock();

/** Waits on `clock`; rejects with `signal.reason` as soon as the signal aborts, clearing the timer. */
export function sleep(clock: Clock, delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimer(handle);
      reject(signal.reason);
    };
    const handle = clock.setTimer(delayMs, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
