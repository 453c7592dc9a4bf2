/**
 * Marks in what a socket sends, for an edge whose socket never says when bytes have left (Workers: `send`
 * queues in the runtime, which shows neither a callback nor `bufferedAmount`). After every `every` bytes the
 * session sends a `mark`, and the client answers each with `marked` as it reads it; messages arrive in order,
 * so everything before a confirmed mark has left the relay. Bytes count as queued until then, which gives
 * such a socket the same limits as a Node one: streams wait past its queue limit, and a client that asks and
 * never reads is closed (issue 23: `list` sent endlessly grew a workerd isolate from 55 to 373 MB in 14 s).
 */
export class WriteMarks {
  /** Bytes sent since the last mark. */
  private since = 0;
  private next = 1;
  /** Marks sent and not yet confirmed, each with the bytes sent before it (since the previous one). */
  private readonly unconfirmed: { n: number; bytes: number }[] = [];

  constructor(private readonly every: number) {}

  /** Counts bytes sent; returns the number of a mark to send after them, or null. */
  sent(bytes: number): number | null {
    this.since += bytes;
    if (this.since < this.every) return null;
    const n = this.next++;
    this.unconfirmed.push({ n, bytes: this.since });
    this.since = 0;
    return n;
  }

  /** The client read mark `n`: the bytes it frees (before it, and before every earlier one). */
  confirmed(n: number): number {
    let freed = 0;
    while (this.unconfirmed.length > 0 && this.unconfirmed[0]!.n <= n) freed += this.unconfirmed.shift()!.bytes;
    return freed;
  }
}
