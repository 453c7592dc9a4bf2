/**
 * What the page's link to the relay carries: the shortest round trip seen (the relay's ping as the socket
 * opened, given in the welcome; each open to its meta, the relay's own trip to the origin included, since
 * every read pays it) and the fastest delivery seen over a short span. Their product, the bandwidth-delay product,
 * is what one stream must keep in flight to fill the link. Any more only queues in the socket, ahead of the
 * next request on it: a seek's first bytes wait behind the old stream's (2 MB took 160 ms at 100 Mbit/s).
 *
 * A round trip measured by the page includes the wait behind other streams' bytes and for its own main
 * thread, so without the relay's measure the estimate errs long, towards windows that still fill the link.
 */

/**
 * Bytes in flight per byte of the estimated product. One: the round trips measured err long (by 40–130 % on
 * the bench's 40 ms link), which leaves room for the credit granted back in quarter-window steps.
 */
const PRODUCT_FACTOR = 1;
/** Enough for 8 Mbit/s video at 100 ms and more whatever the estimate says, and for a fast start. */
const MIN_WINDOW = 512 * 1024;
/**
 * Delivery is measured over spans of up to 200 ms, each ended early by a silence: a span must last 50 ms to
 * count, so that frames the page's main thread took in one go, after a stall, are not a rate.
 */
const SPAN_MS = 200;
const MIN_SPAN_MS = 50;
const SILENCE_MS = 100;

export class LinkEstimate {
  private minRttMs = Infinity;
  /** Bytes per ms. */
  private peakRate = 0;
  /** When the span's first frame came (its bytes are not counted: the rate is of what came after it). */
  private spanStart: number | null = null;
  private spanBytes = 0;
  private lastAt = -Infinity;

  roundTrip(ms: number): void {
    if (ms > 0) this.minRttMs = Math.min(this.minRttMs, ms);
  }

  delivered(bytes: number, now = performance.now()): void {
    if (now - this.lastAt > SILENCE_MS) this.endSpan();
    this.lastAt = now;
    if (this.spanStart === null) {
      this.spanStart = now;
      return;
    }
    this.spanBytes += bytes;
    if (now - this.spanStart >= SPAN_MS) this.endSpan();
  }

  /** A credit window for one stream: the product, within [512 KiB, `max`]; null until both are measured. */
  window(max: number): number | null {
    const rate = Math.max(this.peakRate, this.spanRate());
    if (!Number.isFinite(this.minRttMs) || rate === 0) return null;
    return Math.round(Math.min(max, Math.max(MIN_WINDOW, PRODUCT_FACTOR * rate * this.minRttMs)));
  }

  /** Bytes per ms of the span so far, once it is long enough to say; else 0. */
  private spanRate(): number {
    const ms = this.spanStart === null ? 0 : this.lastAt - this.spanStart;
    return ms >= MIN_SPAN_MS ? this.spanBytes / ms : 0;
  }

  private endSpan(): void {
    this.peakRate = Math.max(this.peakRate, this.spanRate());
    this.spanStart = null;
    this.spanBytes = 0;
  }
}
