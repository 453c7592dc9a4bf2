/**
 * npm run bench:load: one relay (its own process), many concurrent clients each pulling a whole file through
 * it. Run 1: 100 equal readers of 100 MB. Run 2: the same with 20 slow readers (2 MB/s) among them. Then a
 * sweep for the largest number of concurrent streams whose median rate stays above 10 MB/s. Last, 100 players
 * starting 8 GB films at once: each opens an index stream (the relay walks to the 9 MB moov and sends it
 * deflated), then 2 MB of media, as the page does.
 * Reports: bytes identical (sha256 per stream), per-stream rates, the relay's peak RSS and CPU per GB.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { Connection } from '../src/client/connection.js';
import { nodeSocket } from '../src/client/node.js';
import { benchFile, cpuSeconds, GB, MB, median, startOrigin, startRelayFor, table } from './lib.js';
import { benchVideo } from './video.js';

const SIZE = 100 * MB;
const SLOW_RATE = 2 * MB;

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

interface StreamResult { mbps: number; ok: boolean; slow: boolean }

async function pull(relay: string, url: string, bytes: number, expected: string, slow: boolean): Promise<StreamResult> {
  const c = new Connection({ relay, createSocket: nodeSocket });
  const hash = createHash('sha256');
  const t0 = performance.now();
  let n = 0;
  for await (const chunk of c.open({ url, end: bytes - 1 })) {
    hash.update(chunk.data);
    n += chunk.data.byteLength;
    if (slow) {
      // Hold this reader to SLOW_RATE: sleep until its bytes are due.
      const due = (n / SLOW_RATE) * 1000 - (performance.now() - t0);
      if (due > 0) await new Promise((done) => setTimeout(done, due));
    }
  }
  c.close();
  return { mbps: n / MB / ((performance.now() - t0) / 1000), ok: n === bytes && hash.digest('hex') === expected, slow };
}

async function run(relayUrl: string, pid: number, url: string, clients: number, slow: number, bytes: number, expected: string) {
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 200);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: clients }, (_, i) => pull(relayUrl, url, bytes, expected, i < slow)));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const relayed = clients * bytes;
  const equal = results.filter((r) => !r.slow).map((r) => r.mbps);
  return {
    clients,
    slow,
    identical: results.every((r) => r.ok),
    median: median(equal),
    slowest: Math.min(...equal),
    aggregate: relayed / MB / seconds,
    cpuPerGb: (cpuSeconds(pid) - cpu0) / (relayed / GB),
    peakRss: peakRss / MB,
  };
}

/**
 * One player's start: the index stream's head, then the first 2 MB of media (what playback starts from: its
 * time is the start's), then, as a page does once its first frame shows, the rest of the index (the whole
 * moov, checked).
 */
async function start(relay: string, url: string): Promise<{ ok: boolean; seconds: number; whole: number }> {
  const c = new Connection({ relay, createSocket: nodeSocket });
  const t0 = performance.now();
  const index = c.open({ url, index: 'mp4', window: Number(process.env.INDEX_WINDOW ?? 2 * MB) });
  const { ftypSize, moovSize, mediaOffset } = (await index.meta).index!;
  const readMedia = async (): Promise<number> => {
    let bytes = 0;
    const from = mediaOffset ?? 0;
    if (process.env.STARTS_MEDIA === '0') return 2 * MB;
    for await (const chunk of c.open({ url, offset: from, end: from + 2 * MB - 1, window: 2 * MB })) bytes += chunk.data.byteLength;
    return bytes;
  };
  let body = Buffer.alloc(0);
  let headSize = 0;
  let media: Promise<number> | null = null;
  let started = 0;
  for await (const chunk of index) {
    body = Buffer.concat([body, chunk.data]);
    if (!headSize && body.byteLength >= ftypSize + 8) headSize = body.readUInt32BE(ftypSize);
    if (!media && headSize && body.byteLength >= ftypSize + headSize) {
      media = readMedia().then((bytes) => {
        started = (performance.now() - t0) / 1000;
        index.renewCredit();
        return bytes;
      });
    }
  }
  const whole = (performance.now() - t0) / 1000;
  const inflated = inflateSync(body.subarray(ftypSize + headSize));
  const bytes = await media;
  c.close();
  return { ok: inflated.byteLength === moovSize && bytes === 2 * MB, seconds: started, whole };
}

async function starts(count: number): Promise<(string | number)[]> {
  const film = benchVideo(8 * GB);
  const filmOrigin = await startOrigin(film);
  const r = await startRelayFor(filmOrigin.match[1]!);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(r.child.pid!))), 100);
  try {
    // Different URLs (the origin ignores the query), as a hundred different films would be.
    const results = await Promise.all(Array.from({ length: count }, (_, i) => start(`ws://127.0.0.1:${r.match[1]}/ws`, `${filmOrigin.match[2]}?film=${i}`)));
    const seconds = results.map((x) => x.seconds);
    return [count, results.every((x) => x.ok) ? 'yes' : 'NO', median(seconds).toFixed(2), Math.max(...seconds).toFixed(2), median(results.map((x) => x.whole)).toFixed(2), (peak / MB).toFixed(0)];
  } finally {
    clearInterval(sampler);
    r.child.kill();
    filmOrigin.child.kill();
  }
}

async function printStarts(): Promise<void> {
  const row = await starts(100);
  console.log('\n100 8 GB films starting at once through one relay (each an index stream; 2 MB of media once its head is in)\n');
  console.log(table(['players', 'all complete', 'median start (s)', 'slowest (s)', 'median whole index (s)', 'relay peak RSS MB (target < 512)'], [row]));
}

if (process.argv.includes('--starts')) {
  await printStarts();
  process.exit(0);
}

const file = await benchFile('bench-2g.bin', 2 * GB);
const origin = await startOrigin(file);
const relay = await startRelayFor(origin.match[1]!);
const relayUrl = `ws://127.0.0.1:${relay.match[1]}/ws`;
const url = origin.match[2]!;
const pid = relay.child.pid!;
/** sha256 of the file's first `bytes`. */
function head(bytes: number): string {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(bytes);
  readSync(fd, buffer, 0, bytes, 0);
  closeSync(fd);
  return createHash('sha256').update(buffer).digest('hex');
}
const expected100 = head(SIZE);
const rows: (string | number)[][] = [];
try {
  process.stderr.write('100 equal readers of 100 MB…\n');
  const equal = await run(relayUrl, pid, url, 100, 0, SIZE, expected100);
  process.stderr.write('100 readers, 20 of them slow…\n');
  const mixed = await run(relayUrl, pid, url, 100, 20, SIZE, expected100);
  for (const [name, r] of [['100 equal', equal], ['100, 20 slow (2 MB/s)', mixed]] as const) {
    rows.push([name, r.identical ? 'yes' : 'NO', r.median.toFixed(1), r.slowest.toFixed(1), (r.slowest / r.median).toFixed(2), r.aggregate.toFixed(0), r.cpuPerGb.toFixed(2), r.peakRss.toFixed(0)]);
  }
  console.log('\nbench:load, one relay on 2 cores, every client its own WebSocket (medians over the equal readers)\n');
  console.log(table(['run', 'bytes identical', 'median MB/s', 'slowest MB/s', 'slowest / median', 'aggregate MB/s', 'relay CPU-s/GB', 'relay peak RSS MB'], rows));

  const sweepBytes = 20 * MB;
  const expected20 = head(sweepBytes);
  const sweep: (string | number)[][] = [];
  let best = 0;
  for (const n of [10, 20, 30, 40, 60, 80]) {
    const r = await run(relayUrl, pid, url, n, 0, sweepBytes, expected20);
    sweep.push([n, r.identical ? 'yes' : 'NO', r.median.toFixed(1), r.aggregate.toFixed(0), r.peakRss.toFixed(0)]);
    process.stderr.write(`${n} streams: median ${r.median.toFixed(1)} MB/s\n`);
    if (r.median > 10) best = n;
    else break;
  }
  console.log(`\nsweep, 20 MB per stream: largest count with a median above 10 MB/s: ${best}\n`);
  console.log(table(['streams', 'bytes identical', 'median MB/s', 'aggregate MB/s', 'relay peak RSS MB'], sweep));
  await printStarts();
} finally {
  relay.child.kill();
  origin.child.kill();
}
