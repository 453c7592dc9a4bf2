/**
 * The streams, across every socket of a relay, that wait for credit while holding an upstream connection.
 * Each holds up to about 2 MiB (what the upstream body buffered, and the chunk in hand), so their number is
 * capped: past `max`, the one that has waited longest gives its upstream back at once, as it would after
 * `creditIdleMs`. The relay's memory for idle streams is then bounded however many streams are opened.
 */
export class IdleStreams {
  /** Insertion order is waiting order: the first has waited longest. */
  private readonly waiting = new Map<object, () => void>();

  constructor(private readonly max: number) {}

  /** `stream` began waiting for credit; `park` gives its upstream back. */
  add(stream: object, park: () => void): void {
    this.waiting.delete(stream);
    this.waiting.set(stream, park);
    for (const [oldest, parkOldest] of this.waiting) {
      if (this.waiting.size <= this.max) break;
      this.waiting.delete(oldest);
      parkOldest();
    }
  }

  /** `stream` has credit again, gave its upstream back, or ended. */
  remove(stream: object): void {
    this.waiting.delete(stream);
  }
}
