/**
 * bench:abuse, the second security pass (issue 23): seven attacks, each against a fresh relay in its own
 * process, with the relay's idle RSS measured in the same run as the baseline, the most upstream connections
 * the attack's origin saw at once, and the time another user's start (an index stream's head, from a fresh
 * socket on another client network) takes while the attack holds. Loopback only.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { Connection } from '../src/client/connection.js';
import { nodeSocket } from '../src/client/node.js';
import { EDGES } from '../test/helpers/edges.js';
import { manyTraks, nestedMoov, slowTables } from '../test/helpers/hostile-mp4.js';
import { HostileOrigin, oneByteChunks, serveBytes } from '../test/helpers/hostile-origin.js';
import { attacker, mb, peakRss, relayProcess, rssOf, sleep, userStart, type RelayProcess } from './abuse-kit.js';
import { processTree } from './lib.js';

/** An attack under way: the most connections its origin held at once, and how to end it (with what it did). */
interface Running { connections(): number; leave(): Promise<string> }
interface Attack {
  name: string;
  origin: HostileOrigin;
  relayArgs?: string[];
  run(relay: RelayProcess): Promise<Running>;
  /** How the other user signs in, on a relay with a password. */
  user?: () => { deviceKey?: string };
}

const allow = (...origins: HostileOrigin[]): string[] => origins.flatMap((o) => ['--allow-host', o.hostPort]);
const close = (sockets: WebSocket[]): void => sockets.forEach((ws) => ws.terminate());

async function measure(attack: Attack, film: HostileOrigin): Promise<string[]> {
  const relay = await relayProcess([...allow(attack.origin, film), ...(attack.relayArgs ?? [])]);
  const idle = rssOf(relay.pid);
  const peak = peakRss(relay.pid);
  const running = await attack.run(relay);
  const start = await userStart(relay.url, film.url('/film.mp4'), attack.user?.());
  const outcome = await running.leave();
  const top = peak.stop();
  await sleep(3000);
  const after = rssOf(relay.pid) - idle;
  relay.stop();
  await attack.origin.close();
  return [attack.name, mb(idle), mb(top - idle), String(running.connections()), start, `${outcome}; ${mb(after)} over idle 3 s after`];
}

function oneByte(): Attack {
  let blocked = 0;
  const origin = new HostileOrigin((_, socket) => oneByteChunks(socket, () => blocked++));
  return {
    name: '1. one-byte chunks: 64 streams, no credit',
    origin,
    run: async (relay) => {
      const sockets = await Promise.all(Array.from({ length: 8 }, (_, s) => attacker(relay.url, `127.0.9.${s + 1}`)));
      sockets.forEach((ws, s) => { for (let id = 1; id <= 8; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url(`/${s}/${id}`), credit: 0 })); });
      const started = performance.now();
      while (blocked < 64 && performance.now() - started < 60_000) await sleep(100);
      return { connections: () => origin.peak, leave: async () => (close(sockets), `${Math.min(blocked, 64)} of 64 origins paused`) };
    },
  };
}

function nested(): Attack {
  const files: Record<string, Buffer> = { '/big.mp4': nestedMoov(650_000, 'trak'), '/small.mp4': nestedMoov(250_000, 'moov') };
  const origin = new HostileOrigin((head, socket) => serveBytes(files[/^GET (\S+)/.exec(head)![1]!]!, socket, head));
  return {
    name: '2. moovs nested 250 000 and 650 000 deep: 16 at once',
    origin,
    run: async (relay) => {
      const sockets = await Promise.all(Array.from({ length: 4 }, (_, s) => attacker(relay.url, `127.0.9.${s + 1}`)));
      let heads = 0;
      for (const ws of sockets) {
        ws.on('message', (_d, binary) => void (binary || heads++));
        for (let id = 1; id <= 4; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url(id % 2 ? '/big.mp4' : '/small.mp4'), index: 'mp4', credit: 16 << 20 }));
      }
      await sleep(3000);
      return { connections: () => origin.peak, leave: async () => (close(sockets), `${heads} answers, no stack overflow`) };
    },
  };
}

function fanOut(): Attack {
  const origin = new HostileOrigin(slowTables(manyTraks(204, 10_000)));
  return {
    name: '3. a moov of 204 traks whose tables are slow: 6 at once',
    origin,
    run: async (relay) => {
      const ws = await attacker(relay.url);
      for (let id = 1; id <= 6; id++) ws.send(JSON.stringify({ t: 'open', id, url: origin.url(`/many.mp4?${id}`), index: 'mp4', credit: 16 << 20 }));
      await sleep(3000);
      return { connections: () => origin.peak, leave: async () => (ws.terminate(), `${origin.requests} part requests in 3 s`) };
    },
  };
}

function gate(film: HostileOrigin): Attack {
  const silent = new HostileOrigin(() => {});
  return {
    name: '4. 72 index streams without credit and 48 on a silent origin, 3 sockets',
    origin: silent,
    relayArgs: allow(film),
    run: async (relay) => {
      const sockets = await Promise.all(Array.from({ length: 3 }, (_, s) => attacker(relay.url, `127.0.9.${s + 1}`)));
      sockets.forEach((ws, s) => {
        for (let id = 1; id <= 24; id++) ws.send(JSON.stringify({ t: 'open', id, url: film.url(`/film.mp4?${s}-${id}`), index: 'mp4', credit: 0 }));
        for (let id = 25; id <= 40; id++) ws.send(JSON.stringify({ t: 'open', id, url: silent.url(`/${s}-${id}`), index: 'mp4', credit: 1 << 20 }));
      });
      await sleep(1000);
      return { connections: () => silent.peak, leave: async () => (close(sockets), `${silent.requests} walks on the silent origin at once`) };
    },
  };
}

function unparkedMedia(film: Buffer): Attack {
  const origin = new HostileOrigin((head, socket) => serveBytes(film, socket, head));
  return {
    name: '5. 64 index streams without credit, each asking for its media',
    origin,
    run: async (relay) => {
      const sockets = await Promise.all(Array.from({ length: 8 }, (_, s) => attacker(relay.url, `127.0.9.${s + 1}`)));
      sockets.forEach((ws, s) => {
        for (let id = 1; id <= 8; id++) {
          ws.send(JSON.stringify({ t: 'open', id, url: origin.url(`/film.mp4?${s}-${id}`), index: 'mp4', credit: 0, media: { id: 100 + id, credit: 1 << 20 } }));
        }
      });
      await sleep(25_000);
      const held = origin.connections;
      return { connections: () => origin.peak, leave: async () => (close(sockets), `${held} connections held at 25 s`) };
    },
  };
}

/**
 * 10 001 client networks (/24s of 127/8) guess once each, filling the throttle's table; then 8 networks it
 * has no room for guess at once. The other user signed in before, and holds a device key.
 */
function throttle(): Attack {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-abuse-'));
  writeFileSync(join(dir, 'pw'), 'the right password\n');
  let deviceKey: string | undefined;
  const guess = async (relay: RelayProcess, address: string): Promise<void> => {
    const ws = await attacker(relay.url, address, { password: 'a wrong guess' });
    await new Promise((done) => (ws.once('message', done), ws.once('close', done)));
    ws.terminate();
  };
  return {
    name: '6. guesses from 10 001 networks, then 8 more at once',
    origin: new HostileOrigin(() => {}),
    relayArgs: ['--password-file', join(dir, 'pw')],
    user: () => ({ deviceKey }),
    run: async (relay) => {
      const owner = new Connection({ relay: relay.url, createSocket: nodeSocket, password: 'the right password', onDeviceKey: (k) => (deviceKey = k) });
      await owner.whenReady();
      owner.close();
      for (let n = 0; n < 10_001; n += 64) {
        await Promise.all(Array.from({ length: Math.min(64, 10_001 - n) }, (_, k) => guess(relay, `127.${10 + ((n + k) >> 8)}.${(n + k) & 255}.1`)));
      }
      let answered = 0;
      const late = Array.from({ length: 8 }, (_, k) => guess(relay, `127.200.${k}.1`).then(() => answered++));
      await Promise.race([Promise.all(late), sleep(5000)]);
      return { connections: () => 0, leave: async () => `${answered} of 8 newcomers' guesses judged within 5 s` };
    },
  };
}

/** The Workers build in workerd: a socket that sends `list` for 20 s and never reads. */
async function workersSpam(film: HostileOrigin): Promise<string[]> {
  const edge = await EDGES.workers({ allow: [film.hostPort] });
  const workerd = (): number => processTree(process.pid).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'workerd') ?? 0;
  const pid = workerd();
  const idle = rssOf(pid);
  const peak = peakRss(pid);
  const ws = await attacker(edge.url);
  (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
  let closed = false;
  ws.once('close', () => (closed = true));
  let sent = 0;
  const until = performance.now() + 20_000;
  while (!closed && performance.now() < until) {
    while (ws.bufferedAmount > 1 << 20) await sleep(5);
    for (let i = 0; i < 500; i++) ws.send('{"t":"list"}');
    sent += 500;
    await sleep(1);
  }
  const start = await userStart(edge.url, film.url('/film.mp4'));
  const top = peak.stop();
  ws.terminate();
  await sleep(3000);
  const after = rssOf(pid) - idle;
  await edge.close();
  return ['7. Workers: `list` sent for 20 s, never read', mb(idle), mb(top - idle), '0', start, `${sent} sent, socket ${closed ? 'closed' : 'still open'}; ${mb(after)} over idle 3 s after`];
}

export async function secondPass(filmFile: string): Promise<string[][]> {
  const film = readFileSync(filmFile);
  const filmOrigin = await new HostileOrigin((head, socket) => serveBytes(film, socket, head)).start();
  const rows: string[][] = [];
  for (const attack of [oneByte(), nested(), fanOut(), gate(filmOrigin), unparkedMedia(film), throttle()]) {
    await attack.origin.start();
    rows.push(await measure(attack, filmOrigin));
    process.stderr.write(`${rows.at(-1)!.join(' | ')}\n`);
  }
  rows.push(await workersSpam(filmOrigin));
  await filmOrigin.close();
  return rows;
}
