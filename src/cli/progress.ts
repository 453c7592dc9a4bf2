/** A one-line progress bar for terminals; silent when the stream is not a terminal. */
import type { WriteStream } from 'node:tty';
import { RateMeter } from '../ui/rate.js';
import { formatProgress } from '../ui/progress-text.js';

const MB = 1024 * 1024;

export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();
  private readonly meter = new RateMeter();

  constructor(private readonly out: NodeJS.WriteStream | WriteStream) {}

  update(done: number, total: number | null, force = false): void {
    const now = Date.now();
    this.meter.add(done);
    if (!this.out.isTTY || (!force && now - this.last < 100)) return;
    this.last = now;
    this.out.write(`\r\x1b[K${formatProgress(done, total, this.meter.rate())}`);
  }

  /** Clears the bar; the summary of this run, which took the bytes from `from` to `done`. */
  finish(done: number, from = 0): string {
    const seconds = (Date.now() - this.started) / 1000;
    if (this.out.isTTY) this.out.write('\r\x1b[K');
    return `${((done - from) / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s (${((done - from) / MB / Math.max(seconds, 0.001)).toFixed(1)} MB/s)`;
  }
}
