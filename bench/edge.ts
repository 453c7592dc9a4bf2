/**
 * npm run bench:edge: the relay on each way it is deployed, against a direct read of the same origin in the
 * same run: one Node relay; two behind nginx with the shipped deploy/nginx/ferry.conf; the Workers build in
 * workerd (Miniflare, on this machine: not Cloudflare's network). For each: the rate and the edge's CPU per GB
 * of one 1 GB stream to the Node client, and what 4 sockets that stop reading, with 8 streams each at 16 MiB
 * of credit, make the edge hold (peak RSS over its idle RSS). Medians of several runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { request } from 'undici';
import WebSocket from 'ws';
import { Connection } from '../src/client/connection.js';
import { nodeSocket } from '../src/client/node.js';
import { PROTOCOL_VERSION } from '../src/protocol/limits.js';
import { EDGES } from '../test/helpers/edges.js';
import { startNginx } from '../test/helpers/nginx.js';
import { benchFile, GB, MB, median, processTree, rss, startOrigin, startRelayFor, table, timedTransfer } from './lib.js';

const SIZE = GB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

interface Edge { name: string; url: string; pids: () => number[]; stop: () => Promise<void> }

async function nodeRelay(originPort: number): Promise<{ url: string; port: number; pid: number; stop: () => void }> {
  const relay = await startRelayFor(originPort);
  const port = Number(relay.match[1]);
  return { url: `ws://127.0.0.1:${port}/ws`, port, pid: relay.child.pid!, stop: () => relay.child.kill() };
}

/** This process's children named `name` (workerd, nginx), with their descendants. */
function childrenNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const [comm, rest] = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ');
        return comm!.endsWith(`(${name}`) && Number(rest!.split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .flatMap((e) => processTree(Number(e)));
}

const EDGE_STARTS: Record<string, (originPort: number, originHost: string) => Promise<Edge>> = {
  'one Node relay': async (port) => {
    const r = await nodeRelay(port);
    return { name: 'one Node relay', url: r.url, pids: () => processTree(r.pid), stop: async () => r.stop() };
  },
  'two behind nginx': async (port) => {
    const [a, b] = [await nodeRelay(port), await nodeRelay(port)];
    const nginx = await startNginx([a.port, b.port]);
    const pids = (): number[] => [...processTree(a.pid), ...processTree(b.pid), ...childrenNamed('nginx')];
    return { name: 'two behind nginx', url: `ws://127.0.0.1:${nginx.port}/ws`, pids, stop: async () => (await nginx.stop(), a.stop(), b.stop()) };
  },
  'Workers (workerd)': async (_port, host) => {
    const edge = await EDGES.workers({ allow: [host] });
    return { name: 'Workers (workerd)', url: edge.url, pids: () => childrenNamed('workerd'), stop: () => edge.close() };
  },
};

async function direct(url: string): Promise<number> {
  const res = await request(url, { headers: { 'accept-encoding': 'identity', range: `bytes=0-${SIZE - 1}` } });
  let n = 0;
  for await (const chunk of res.body) n += (chunk as Buffer).byteLength;
  return n;
}

async function relayed(relayUrl: string, url: string): Promise<number> {
  const c = new Connection({ relay: relayUrl, createSocket: nodeSocket });
  let n = 0;
  for await (const chunk of c.open({ url, end: SIZE - 1 })) n += chunk.data.byteLength;
  c.close();
  return n;
}

/** Peak RSS over idle while 4 sockets that read nothing hold 8 streams each with 16 MiB of credit, for 4 s. */
async function stalledHold(edge: Edge, url: string): Promise<number> {
  const idle = rss(edge.pids());
  const sockets = await Promise.all(Array.from({ length: 4 }, () => stalledSocket(edge.url, url)));
  let peak = idle;
  for (let t = 0; t < 40; t++) {
    peak = Math.max(peak, rss(edge.pids()));
    await sleep(100);
  }
  for (const ws of sockets) ws.terminate();
  await sleep(1000);
  return (peak - idle) / MB;
}

async function stalledSocket(relayUrl: string, url: string): Promise<WebSocket> {
  const ws = new WebSocket(relayUrl);
  await new Promise((done) => ws.once('open', done));
  ws.send(JSON.stringify({ t: 'hello', v: PROTOCOL_VERSION }));
  for (let id = 1; id <= 8; id++) ws.send(JSON.stringify({ t: 'open', id, url, offset: id * 64 * MB, credit: 16 * MB }));
  (ws as unknown as { _socket: Socket })._socket.pause();
  return ws;
}

const file = await benchFile('bench-2g.bin', 2 * GB);
const origin = await startOrigin(file);
const [originPort, url] = [Number(origin.match[1]), origin.match[2]!];
const rows: (string | number)[][] = [];
try {
  for (const start of Object.values(EDGE_STARTS)) {
    const edge = await start(originPort, `127.0.0.1:${originPort}`);
    try {
      const runs: { direct: number; mbps: number; cpuPerGb: number; held: number }[] = [];
      for (let i = 0; i < RUNS; i++) {
        const d = await timedTransfer(SIZE, () => [origin.child.pid!], () => direct(url));
        const r = await timedTransfer(SIZE, edge.pids, () => relayed(edge.url, url));
        const held = await stalledHold(edge, url);
        runs.push({ direct: d.mbps, ...r, held });
        process.stderr.write(`${edge.name} run ${i + 1}/${RUNS}: direct ${d.mbps.toFixed(0)} MB/s, relayed ${r.mbps.toFixed(0)} MB/s at ${r.cpuPerGb.toFixed(2)} CPU-s/GB; 4 stalled sockets: ${held.toFixed(0)} MB\n`);
      }
      const m = (k: keyof (typeof runs)[number]): number => median(runs.map((r) => r[k]));
      rows.push([edge.name, m('direct').toFixed(0), m('mbps').toFixed(0), (m('mbps') / m('direct')).toFixed(2), m('cpuPerGb').toFixed(2), m('held').toFixed(0)]);
    } finally {
      await edge.stop();
    }
  }
} finally {
  origin.child.kill();
}
console.log(`\n1 GB stream from a local origin to the Node client; medians of ${RUNS}\n`);
console.log(table(['edge', 'direct MB/s', 'relayed MB/s', 'ratio', 'edge CPU-s/GB', 'held by 4 stalled sockets (MB)'], rows));
