/**
 * When to try the broker again: soon after a drop (a restarted broker is usually back within a
 * second or two), then twice as long each time up to the configured period, so a broker that stays
 * down sees a handful of attempts a minute, not a storm.
 */
export class ReconnectSchedule {
  private attempts = 0;

  /**
   * @param maxMs the longest wait (Node-RED's `mqttReconnectTime`, 5 s by default)
   * @param firstMs the first wait after a drop; never more than `maxMs`
   */
  constructor(
    private readonly maxMs: number,
    private readonly firstMs = 500,
  ) {}

  /** The wait before the next attempt, and counts it. */
  next(): number {
    const first = Math.min(this.firstMs, this.maxMs);
    const wait = Math.min(first * 2 ** this.attempts, this.maxMs);
    this.attempts++;
    return wait;
  }

  /** A connection succeeded: the next drop starts from the first wait again. */
  reset(): void {
    this.attempts = 0;
  }
}
