/**
 * npm run bench:abuse: what hostile clients can make a relay hold (issue 9), each against a fresh relay in its
 * own process, with its idle RSS measured in the same run as the baseline. Loopback only.
 *
 *   spam      one socket writes 72 MB of requests and never reads its replies
 *   no credit 8 sockets open 64 streams each with zero credit, and never grant any
 *   sockets   3 072 sockets from 24 client networks, none ever saying hello
 *
 * Then the second security pass's seven attacks (abuse-second-pass.ts); `-- --second-pass` runs those alone.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { mb, opened, peakRss, relayProcess, rssOf as rss, sleep } from './abuse-kit.js';
import { secondPass } from './abuse-second-pass.js';
import { benchFile, MB, startOrigin, table } from './lib.js';
import { benchVideo } from './video.js';

const SPAM_BYTES = 72 * MB;

async function spam(): Promise<string[]> {
  const relay = await relayProcess([]);
  const idle = rss(relay.pid);
  const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/ws`);
  await opened(ws);
  ws.send(JSON.stringify({ t: 'hello', v: 1 }));
  (ws as unknown as { _socket: Socket })._socket.pause();
  const peak = peakRss(relay.pid);
  const started = performance.now();
  const url = `not a url ${'x'.repeat(200)}`;
  let sent = 0;
  let id = 0;
  let closedAt = 0;
  const closed = async (): Promise<boolean> => (await relay.metric('ferry_sockets_closed_total{reason="outgoing queue full"}')) > 0;
  while (sent < SPAM_BYTES && !closedAt) {
    // Written only as fast as the relay reads, so what was sent is what the relay took in.
    while (ws.bufferedAmount > MB) await sleep(1);
    for (let i = 0; i < 2000; i++) {
      const m = JSON.stringify({ t: 'open', id: id++, url, credit: 0 });
      ws.send(m);
      sent += m.length;
    }
    if (id % 20_000 === 0 && (await closed())) closedAt = performance.now();
  }
  while (!closedAt && performance.now() - started < 30_000) {
    await sleep(50);
    if (await closed()) closedAt = performance.now();
  }
  const top = peak.stop();
  ws.terminate();
  relay.stop();
  return ['spam: 72 MB of requests, replies never read', mb(idle), mb(top), closedAt ? `closed after ${mb(sent)} sent, ${((closedAt - started) / 1000).toFixed(1)} s` : `not closed after ${mb(sent)}`];
}

async function noCredit(origin: string, originPort: string): Promise<string[]> {
  const relay = await relayProcess(['--allow-host', `127.0.0.1:${originPort}`]);
  const idle = rss(relay.pid);
  const peak = peakRss(relay.pid);
  const sockets = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/ws`);
      await opened(ws);
      ws.send(JSON.stringify({ t: 'hello', v: 1 }));
      for (let id = 1; id <= 64; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin, credit: 0 }));
      return ws;
    }),
  );
  await sleep(3000);
  const holding = rss(relay.pid);
  const started = performance.now();
  while ((await relay.metric('ferry_streams_parked_total')) < 512 && performance.now() - started < 40_000) await sleep(250);
  await sleep(1000);
  const parked = await relay.metric('ferry_streams_parked_total');
  const after = rss(relay.pid);
  const top = peak.stop();
  for (const ws of sockets) ws.terminate();
  relay.stop();
  return [`no credit: 512 streams, 0 bytes granted`, mb(idle), mb(top), `${mb(holding)} at 3 s; ${parked} parked by ${((performance.now() - started) / 1000 + 3).toFixed(0)} s; ${mb(after)} then`];
}

async function sockets(): Promise<string[]> {
  const relay = await relayProcess([]);
  const idle = rss(relay.pid);
  const peak = peakRss(relay.pid);
  const all: WebSocket[] = [];
  let accepted = 0;
  for (let net = 0; net < 24; net++) {
    const tries = Array.from({ length: 128 }, async (_, i) => {
      const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/ws`, { localAddress: `127.0.${net}.${1 + (i % 200)}` });
      ws.on('error', () => {});
      all.push(ws);
      await opened(ws).then(() => accepted++, () => {});
    });
    await Promise.all(tries);
  }
  const refused = await relay.metric('ferry_sockets_refused_total');
  const started = performance.now();
  while ((await relay.metric('ferry_sockets ')) > 0 && performance.now() - started < 30_000) await sleep(100);
  const gone = (performance.now() - started) / 1000;
  const top = peak.stop();
  for (const ws of all) ws.terminate();
  relay.stop();
  return ['sockets: 3 072 from 24 networks, no hello', mb(idle), mb(top), `${accepted} accepted, ${refused} refused; all closed ${gone.toFixed(1)} s after the last opened`];
}

const HEADERS = ['attack', 'relay idle RSS', 'relay peak RSS', 'outcome'];
if (!process.argv.includes('--second-pass')) {
  const file = await benchFile('bench-100m.bin', 100 * MB);
  const origin = await startOrigin(file);
  const rows = [await spam(), await noCredit(origin.match[2]!, origin.match[1]!), await sockets()];
  origin.child.kill();
  console.log(table(HEADERS, rows));
}
// The second security pass (issue 23); another user's start is the 60 s clip's index head.
const rows = await secondPass(benchVideo(1));
console.log(table(['attack (issue 23)', 'relay idle RSS', 'peak over idle', 'origin connections (most at once)', "another user's start", 'outcome'], rows));
