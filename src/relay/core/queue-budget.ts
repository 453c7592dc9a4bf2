/**
 * What the relay holds queued for all its sockets together. A socket may queue up to its own limit
 * (`socketQueueBytes`) while the sockets together hold less than the budget; past it, only a socket holding
 * less than its floor queues more. So a hundred slow readers cannot make the relay hold each one's limit
 * (100 × 8 MiB), and every socket still moves: one that waits has bytes being written, whose completion
 * looks again.
 */
export class QueueBudget {
  private total = 0;

  constructor(
    private readonly bytes: number,
    private readonly floor: number,
  ) {}

  /** Bytes queued across the relay. */
  get queued(): number {
    return this.total;
  }

  add(bytes: number): void {
    this.total += bytes;
  }

  release(bytes: number): void {
    this.total -= bytes;
  }

  /** Whether a socket that holds `own` bytes queued may queue more. */
  allows(own: number): boolean {
    return own < this.floor || this.total < this.bytes;
  }
}
