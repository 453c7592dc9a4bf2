/**
 * The page's measure of its link to the relay, which sizes the credit windows of media streams: enough in
 * flight to fill the link, no more (more only queues ahead of the next seek's bytes).
 */
import { describe, expect, it } from 'vitest';
import { LinkEstimate } from '../src/client/link-estimate.js';

const KB = 1024;
const MAX = 2048 * KB;

/** `bytes` arriving in 16 KB frames at `perMs` bytes a millisecond, from `start` (ms); returns the end time. */
function deliver(link: LinkEstimate, bytes: number, perMs: number, start = 0): number {
  let t = start;
  for (let sent = 0; sent < bytes; sent += 16 * KB) {
    link.delivered(16 * KB, t);
    t += (16 * KB) / perMs;
  }
  return t;
}

describe('link estimate', () => {
  it('gives no window until both the round trip and the rate are measured', () => {
    const link = new LinkEstimate();
    expect(link.window(MAX)).toBeNull();
    link.roundTrip(40);
    expect(link.window(MAX)).toBeNull();
  });

  it('sizes the window to the bandwidth-delay product, within 512 KiB and the largest', () => {
    const slow = new LinkEstimate();
    slow.roundTrip(100);
    deliver(slow, 4096 * KB, 2.5 * KB); // 20 Mbit/s, 100 ms: 250 KB, so the floor
    expect(slow.window(MAX)).toBe(512 * KB);
    const mid = new LinkEstimate();
    mid.roundTrip(80);
    deliver(mid, 8192 * KB, 12.5 * KB); // 100 Mbit/s, 80 ms: 1000 KB
    expect(mid.window(MAX)! / KB).toBeGreaterThan(950);
    expect(mid.window(MAX)! / KB).toBeLessThan(1050);
    const far = new LinkEstimate();
    far.roundTrip(200);
    deliver(far, 8192 * KB, 12.5 * KB); // 2.5 MB: the largest
    expect(far.window(MAX)).toBe(MAX);
  });

  it('keeps the shortest round trip, and the fastest delivery, not one broken by silences', () => {
    const link = new LinkEstimate();
    for (const ms of [120, 60, 300]) link.roundTrip(ms);
    // Bursts of 2 MB (80 ms) at 25 KB/ms with long silences between: the rate is the bursts', not the average.
    let t = 0;
    for (let burst = 0; burst < 5; burst++) t = deliver(link, 2048 * KB, 25 * KB, t) + 1000;
    expect(link.window(100 * MAX)! / KB).toBeGreaterThan(60 * 25 * 0.9);
    expect(link.window(100 * MAX)! / KB).toBeLessThan(60 * 25 * 1.1);
  });

  it('takes no rate from frames the page took in one go after a stall', () => {
    const link = new LinkEstimate();
    link.roundTrip(40);
    // 1 MB handed over within 5 ms after a silence, then nothing: no measure.
    deliver(link, 1024 * KB, 200 * KB, 0);
    expect(link.window(MAX)).toBeNull();
  });
});
