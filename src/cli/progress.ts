/** A one-line progress bar for terminals; silent when the stream is not a terminal. */
import type { WriteStream } from 'node:tty';
import { RateMeter } from '../client/rate.js';

const MB = 1024 * 1024;

export function formatProgress(done: number, total: number | null, bytesPerSecond: number, width = 30): string {
  const speed = `${(bytesPerSecond / MB).toFixed(1)} MB/s`;
  if (!total) return `${(done / MB).toFixed(1)} MB · ${speed}`;
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  const left = bytesPerSecond > 0 ? Math.ceil((total - done) / bytesPerSecond) : null;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(ratio * 100).toFixed(1)}% ${(done / MB).toFixed(0)}/${(total / MB).toFixed(0)} MB · ${speed}${left !== null ? ` · ${left} s left` : ''}`;
}

export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();
  private readonly meter = new RateMeter();

  constructor(
    private readonly out: NodeJS.WriteStream | WriteStream,
    private readonly startBytes = 0,
  ) {}

  update(done: number, total: number | null, force = false): void {
    const now = Date.now();
    this.meter.add(done);
    if (!this.out.isTTY || (!force && now - this.last < 100)) return;
    this.last = now;
    this.out.write(`\r\x1b[K${formatProgress(done, total, this.meter.rate())}`);
  }

  finish(done: number): string {
    const seconds = (Date.now() - this.started) / 1000;
    if (this.out.isTTY) this.out.write('\r\x1b[K');
    return `${((done - this.startBytes) / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s (${((done - this.startBytes) / MB / Math.max(seconds, 0.001)).toFixed(1)} MB/s)`;
  }
}
