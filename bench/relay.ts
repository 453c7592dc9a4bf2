/**
 * npm run bench:relay: what the relay costs per byte, against nginx as a reverse proxy of the same origin in
 * the same run. A 2 GB file from a local origin (its own process):
 * - read straight from the origin, and through nginx (1 MB proxy buffers) with curl: the baselines;
 * - through the relay's WebSocket to the Node client, and its /save/ HTTP path with curl;
 * - written to a real file: `ferry get` against curl through nginx.
 * CPU per GB is the relay process's, or nginx's master and worker; medians of several runs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Connection } from '../src/client/connection.js';
import { nodeSocket } from '../src/client/node.js';
import { runNginx } from '../test/helpers/nginx.js';
import { benchFile, GB, median, processTree, startOrigin, startRelayFor, table, timedTransfer, type Sample } from './lib.js';

const SIZE = 2 * GB;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-relay-'));

async function direct(url: string): Promise<number> {
  const res = await request(url, { headers: { 'accept-encoding': 'identity' } });
  let n = 0;
  for await (const chunk of res.body) n += (chunk as Buffer).byteLength;
  return n;
}

/** curl to `out` (/dev/null or a real file); the bytes it wrote. */
function curl(url: string, out = '/dev/null'): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn('curl', ['-s', '-f', '-o', out, '-w', '%{size_download}', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    child.stdout.on('data', (d: Buffer) => (said += d.toString()));
    child.on('exit', (code) => (code === 0 ? done(Number(said)) : fail(new Error(`curl exited ${code}`))));
  });
}

async function overSocket(relay: string, url: string): Promise<number> {
  const c = new Connection({ relay, createSocket: nodeSocket });
  let n = 0;
  for await (const chunk of c.open({ url })) n += chunk.data.byteLength;
  c.close();
  return n;
}

/** A /save/ URL for the file: a ticket asked for over the socket, as the page does. */
async function saveUrl(relay: string, relayPort: number, url: string): Promise<string> {
  const c = new Connection({ relay, createSocket: nodeSocket });
  const ticket = await c.download(url).whenTicketed();
  c.close();
  return `http://127.0.0.1:${relayPort}${ticket.path}`;
}

function ferryGet(relay: string, url: string, out: string): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', 'get', url, '-q', '-o', out, '--relay', relay], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? done(statSync(out).size) : fail(new Error(`ferry get exited ${code}`))));
  });
}

const file = await benchFile('bench-2g.bin', SIZE);
const origin = await startOrigin(file);
const [originPort, url] = [Number(origin.match[1]), origin.match[2]!];
const path = new URL(url).pathname;
const relay = await startRelayFor(originPort);
const relayPort = Number(relay.match[1]);
const relayUrl = `ws://127.0.0.1:${relayPort}/ws`;
const nginx = await runNginx(
  (port) => `server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${originPort};
      proxy_http_version 1.1;
      proxy_buffer_size 1m; proxy_buffers 8 1m; proxy_busy_buffers_size 2m; proxy_max_temp_file_size 0;
    }
  }`,
);
const nginxUrl = `http://127.0.0.1:${nginx.port}${path}`;
const relayPids = (): number[] => [relay.child.pid!];
const nginxPids = (): number[] => processTree(nginx.pid);
const rows = { direct: [] as Sample[], nginx: [] as Sample[], socket: [] as Sample[], save: [] as Sample[], curlFile: [] as Sample[], getFile: [] as Sample[] };
try {
  for (let i = 0; i < RUNS; i++) {
    rows.direct.push(await timedTransfer(SIZE, () => [origin.child.pid!], () => direct(url)));
    rows.nginx.push(await timedTransfer(SIZE, nginxPids, () => curl(nginxUrl)));
    rows.socket.push(await timedTransfer(SIZE, relayPids, () => overSocket(relayUrl, url)));
    const save = await saveUrl(relayUrl, relayPort, url);
    rows.save.push(await timedTransfer(SIZE, relayPids, () => curl(save)));
    const out = join(dir, 'out.bin');
    rows.curlFile.push(await timedTransfer(SIZE, nginxPids, () => curl(nginxUrl, out)));
    rmSync(out);
    rows.getFile.push(await timedTransfer(SIZE, relayPids, () => ferryGet(relayUrl, url, out)));
    rmSync(out);
    const f = (s: Sample): string => `${s.mbps.toFixed(0)} MB/s at ${s.cpuPerGb.toFixed(2)}`;
    process.stderr.write(`run ${i + 1}/${RUNS}: nginx ${f(rows.nginx.at(-1)!)}, socket ${f(rows.socket.at(-1)!)}, /save/ ${f(rows.save.at(-1)!)}, curl→file ${f(rows.curlFile.at(-1)!)}, ferry get ${f(rows.getFile.at(-1)!)}\n`);
  }
} finally {
  relay.child.kill();
  await nginx.stop();
  origin.child.kill();
  rmSync(dir, { recursive: true, force: true });
  execFileSync('sync');
}

const mbps = (k: keyof typeof rows): number => median(rows[k].map((s) => s.mbps));
const cpu = (k: keyof typeof rows): number => median(rows[k].map((s) => s.cpuPerGb));
const nginxCpu = cpu('nginx');
console.log(`\nbench:relay, ${SIZE / GB} GB, one stream, medians of ${RUNS} runs; CPU: the relay process, nginx's processes, or the origin's for the direct read\n`);
console.log(
  table(
    ['path', 'MB/s', 'CPU-s/GB', 'CPU vs nginx', 'MB/s vs nginx', 'target'],
    [
      ['origin → Node client (direct)', mbps('direct').toFixed(0), cpu('direct').toFixed(2), '', '', ''],
      ['origin → nginx → curl (baseline)', mbps('nginx').toFixed(0), nginxCpu.toFixed(2), '1.00', '1.00', ''],
      ['origin → relay WebSocket → Node client', mbps('socket').toFixed(0), cpu('socket').toFixed(2), (cpu('socket') / nginxCpu).toFixed(2), (mbps('socket') / mbps('nginx')).toFixed(2), 'CPU ≤ 2.5× nginx'],
      ['origin → relay /save/ → curl (HTTP)', mbps('save').toFixed(0), cpu('save').toFixed(2), (cpu('save') / nginxCpu).toFixed(2), (mbps('save') / mbps('nginx')).toFixed(2), 'CPU ≤ 1.5× nginx'],
      ['origin → nginx → curl to a file', mbps('curlFile').toFixed(0), cpu('curlFile').toFixed(2), '', '1.00', ''],
      ['origin → relay → ferry get to a file', mbps('getFile').toFixed(0), cpu('getFile').toFixed(2), (cpu('getFile') / cpu('curlFile')).toFixed(2), (mbps('getFile') / mbps('curlFile')).toFixed(2), 'MB/s ≥ 0.5× curl'],
    ],
  ),
);
