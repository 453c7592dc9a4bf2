/**
 * npm run bench:relay: a 2 GB file from a local origin through the relay (its own process) to the Node client,
 * against the same file read straight from the origin, in the same run. Medians of several runs.
 */
import { request } from 'undici';
import { Connection } from '../src/client/connection.js';
import { nodeSocket } from '../src/client/node.js';
import { benchFile, cpuSeconds, GB, MB, median, startProcess, table } from './lib.js';

const SIZE = 2 * GB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function direct(url: string): Promise<number> {
  const res = await request(url, { headers: { 'accept-encoding': 'identity' } });
  let n = 0;
  for await (const chunk of res.body) n += (chunk as Buffer).byteLength;
  return n;
}

async function relayed(relay: string, url: string): Promise<number> {
  const c = new Connection({ relay, createSocket: nodeSocket });
  const t = c.open({ url });
  let n = 0;
  for await (const chunk of t) n += chunk.data.byteLength;
  c.close();
  return n;
}

async function timed(pid: number, run: () => Promise<number>): Promise<{ mbps: number; cpuPerGb: number }> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const bytes = await run();
  const seconds = (performance.now() - t0) / 1000;
  if (bytes !== SIZE) throw new Error(`got ${bytes} bytes, expected ${SIZE}`);
  return { mbps: bytes / MB / seconds, cpuPerGb: (cpuSeconds(pid) - cpu0) / (bytes / GB) };
}

const file = await benchFile('bench-2g.bin', SIZE);
const origin = await startProcess(['--import', 'tsx', 'bench/origin-server.ts', file], /listening (\d+) (\S+)\n/);
const originPort = Number(origin.match[1]);
const url = origin.match[2]!;
const relay = await startProcess(
  ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--allow-host', `127.0.0.1:${originPort}`, '--log-level', 'warn'],
  /relay on http:\/\/127\.0\.0\.1:(\d+)/,
);
const relayUrl = `ws://127.0.0.1:${relay.match[1]}/ws`;

const results = { direct: [] as { mbps: number; cpuPerGb: number }[], relay: [] as { mbps: number; cpuPerGb: number }[] };
try {
  for (let i = 0; i < RUNS; i++) {
    const d = await timed(origin.child.pid!, () => direct(url));
    results.direct.push(d);
    const r = await timed(relay.child.pid!, () => relayed(relayUrl, url));
    results.relay.push(r);
    process.stderr.write(`run ${i + 1}/${RUNS}: direct ${d.mbps.toFixed(0)} MB/s, relay ${r.mbps.toFixed(0)} MB/s at ${r.cpuPerGb.toFixed(2)} CPU-s/GB\n`);
  }
} finally {
  relay.child.kill();
  origin.child.kill();
}

const med = (xs: { mbps: number; cpuPerGb: number }[], k: 'mbps' | 'cpuPerGb'): number => median(xs.map((x) => x[k]));
const dm = med(results.direct, 'mbps');
const rm = med(results.relay, 'mbps');
console.log(`\nbench:relay, ${SIZE / GB} GB, one stream, median of ${RUNS} runs (CPU: the origin process for direct, the relay process for relay)\n`);
console.log(
  table(
    ['path', 'MB/s', 'CPU-s per GB', 'vs direct', 'target'],
    [
      ['origin → Node client (direct)', dm.toFixed(0), med(results.direct, 'cpuPerGb').toFixed(2), '1.00', ''],
      ['origin → relay → Node client', rm.toFixed(0), med(results.relay, 'cpuPerGb').toFixed(2), (rm / dm).toFixed(2), '≥ 400 MB/s, ≤ 2 CPU-s/GB'],
    ],
  ),
);
