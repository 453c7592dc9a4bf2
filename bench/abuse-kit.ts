/** What every bench:abuse attack needs: a relay in its own process, its RSS and metrics, sockets, another user's start. */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { Connection } from '../src/client/connection.js';
import { nodeSocket } from '../src/client/node.js';
import { indexHead } from '../test/helpers/relay.js';
import { MB, startProcess } from './lib.js';

export function rssOf(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

export interface RelayProcess {
  pid: number;
  port: number;
  url: string;
  stop(): void;
  metric(name: string): Promise<number>;
}

export async function relayProcess(extra: string[]): Promise<RelayProcess> {
  const { child, match } = await startProcess(['dist/cli/main.js', 'serve', '--port', '0', '--log-level', 'silent', ...extra], /relay on http:\/\/127\.0\.0\.1:(\d+)\//);
  const port = Number(match[1]);
  return {
    pid: child.pid!,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    stop: () => child.kill(),
    metric: async (name) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    },
  };
}

/** Samples a process's RSS every 50 ms until stopped; returns the peak. */
export function peakRss(pid: number): { stop(): number } {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  return { stop: () => (clearInterval(timer), Math.max(peak, rssOf(pid))) };
}

export const opened = (ws: WebSocket): Promise<unknown> => new Promise((done, fail) => (ws.once('open', done), ws.once('error', fail), ws.once('unexpected-response', fail)));
export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
export const mb = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;

/** A socket said hello on, from `localAddress` (another client network than the user's, by default). */
export async function attacker(relayUrl: string, localAddress = '127.0.9.1', hello: object = {}): Promise<WebSocket> {
  const ws = new WebSocket(relayUrl, { localAddress });
  ws.on('error', () => {});
  await opened(ws);
  ws.send(JSON.stringify({ t: 'hello', v: 1, ...hello }));
  return ws;
}

/**
 * Ms from another user's index open to its head (the ftyp and the moov's head) in hand, on a fresh socket
 * from 127.0.0.1: the start a person waits for; 'none in 16 s' if it does not come.
 */
export async function userStart(relayUrl: string, url: string, auth: { password?: string; deviceKey?: string } = {}): Promise<string> {
  const client = new Connection({ relay: relayUrl, createSocket: nodeSocket, ...auth });
  try {
    await client.whenReady();
    const started = performance.now();
    const transfer = client.open({ url, index: 'mp4', window: 4 * MB });
    const head = indexHead(transfer).then(() => performance.now() - started);
    const ms = await Promise.race([head, sleep(16_000).then(() => null)]);
    transfer.cancel();
    return ms === null ? 'none in 16 s' : `${ms.toFixed(0)} ms`;
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  } finally {
    client.close();
  }
}
