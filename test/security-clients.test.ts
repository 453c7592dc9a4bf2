/**
 * Issue 23, what hostile clients can do: spray the guessing throttle from ten thousand networks, and make
 * the Workers edge queue what they never read (its core side, replies that pile up, is session-core.test's).
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Auth } from '../src/relay/core/auth.js';
import type { FerryError } from '../src/protocol/codes.js';
import { EDGES } from './helpers/edges.js';
import { Origin, testBytes } from './helpers/origin.js';

/** What an attempt comes to within `ms`: its error's code, 'ok', or 'waiting' while the throttle holds it. */
async function within(attempt: Promise<unknown>, ms: number): Promise<string> {
  const timer = new Promise<string>((done) => setTimeout(() => done('waiting'), ms));
  const outcome = attempt.then(() => 'ok', (err: FerryError) => err.code);
  return Promise.race([outcome, timer]);
}

/** The nth /64 of 2001:db8:0:8000::/50 (a /50 holds 16 384 of them). */
const inSlash50 = (n: number): string => `2001:db8:0:${(0x8000 + n).toString(16)}::1`;

describe('the guessing throttle', () => {
  it('is not reset by guesses from 10 001 other networks: the guesser and the newcomers still wait', async () => {
    const auth = new Auth({ password: 'the right one', adminPassword: undefined, baseDelayMs: 60_000 });
    const guesser = inSlash50(0);
    await expect(auth.authenticate(guesser, 'wrong', undefined)).rejects.toMatchObject({ code: 'auth_refused' });
    for (let n = 1; n <= 10_001; n++) await within(auth.authenticate(inSlash50(n), 'wrong', undefined), 50);
    // Before issue 23: the table forgot the oldest network, the guesser's, and its next guess was judged at once.
    expect(await within(auth.authenticate(guesser, 'wrong', undefined), 300)).toBe('waiting');
    // A network the full table has no room for shares the newcomers' record, which those guesses slowed.
    expect(await within(auth.authenticate(inSlash50(12_000), 'wrong', undefined), 300)).toBe('waiting');
  });

  it('forgets a network only once it has waited out its delay; until then newcomers share one record', async () => {
    const t0 = 1_000_000;
    let now = t0;
    const auth = new Auth({ password: 'the right one', adminPassword: undefined, baseDelayMs: 60_000, maxNetworks: 4, now: () => now });
    const guess = (n: number): Promise<string> => within(auth.authenticate(inSlash50(n), 'wrong', undefined), 300);
    for (let n = 0; n < 4; n++) expect(await guess(n)).toBe('auth_refused');
    now = t0 + 10_000;
    // The table is full of live records: the newcomers share one, and the second of them waits for the first.
    expect(await guess(4)).toBe('auth_refused');
    expect(await guess(5)).toBe('waiting');
    // The four have waited out their delay (60 s, and 60 s more): a newcomer now gets a record of its own.
    now = t0 + 125_000;
    expect(await guess(6)).toBe('auth_refused');
  });
});

describe('the Workers edge', () => {
  it('queues a socket no more than its limit: a client that never answers its marks gets 8 MiB, one that does, all', async () => {
    const origin = await new Origin().start();
    const body = testBytes(20 * 1024 * 1024, 3);
    origin.set('/f.bin', { body });
    const relay = await EDGES.workers({ allow: [origin.hostPort] });
    try {
      const ws = new WebSocket(relay.url);
      await new Promise((done, fail) => (ws.once('open', done), ws.once('error', fail)));
      let received = 0;
      const marks: number[] = [];
      ws.on('message', (data: Buffer, binary: boolean) => {
        if (binary) received += data.byteLength;
        else if (String(data).includes('"mark"')) marks.push((JSON.parse(String(data)) as { n: number }).n);
      });
      ws.send(JSON.stringify({ t: 'hello', v: 1 }));
      ws.send(JSON.stringify({ t: 'open', id: 1, url: origin.url('/f.bin'), credit: 4 * 1024 * 1024 }));
      // Credit is granted as bytes come, as a client reads; marks are left unanswered.
      let granted = 4 * 1024 * 1024;
      const grant = setInterval(() => {
        if (received + 2 * 1024 * 1024 < granted) return;
        ws.send(JSON.stringify({ t: 'credit', id: 1, bytes: 2 * 1024 * 1024 }));
        granted += 2 * 1024 * 1024;
      }, 20);
      await expect.poll(() => received, { timeout: 20_000 }).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      await new Promise((done) => setTimeout(done, 1500));
      // Before issue 23 the Worker counted every send as done at once and sent on: the whole 20 MB.
      expect(received).toBeLessThan(8 * 1024 * 1024 + 600 * 1024);
      ws.send(JSON.stringify({ t: 'marked', n: marks.at(-1) }));
      const answer = setInterval(() => marks.length && ws.send(JSON.stringify({ t: 'marked', n: marks.at(-1) })), 20);
      await expect.poll(() => received, { timeout: 20_000 }).toBeGreaterThanOrEqual(body.byteLength);
      clearInterval(grant);
      clearInterval(answer);
      ws.terminate();
    } finally {
      await relay.close();
      await origin.close();
    }
  });
});
