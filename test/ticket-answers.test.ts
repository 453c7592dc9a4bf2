/**
 * Issue 23, what `/save/` and `/media/` answer besides the bytes, on both edges: every answer, refusals
 * included, is inert (nosniff, a sandboxing CSP, never cached), and HEAD tells the size, the ranges and the
 * version, as `curl -I` and download managers expect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../src/client/connection.js';
import { nodeSocket } from '../src/client/node.js';
import { EDGES, type EdgeName, type EdgeRelay } from './helpers/edges.js';
import { Origin, testBytes } from './helpers/origin.js';

const body = testBytes(3 * 1024 * 1024 + 7, 5);
let origin: Origin;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/film.mp4', { body, type: 'video/mp4' });
});
afterAll(() => origin.close());

describe.each<EdgeName>(['node', 'workers'])('on the %s edge', (edge) => {
  let relay: EdgeRelay;
  let client: Connection;
  beforeAll(async () => {
    relay = await EDGES[edge]({ allow: [origin.hostPort] });
    client = new Connection({ relay: relay.url, createSocket: nodeSocket });
  });
  afterAll(async () => {
    client.close();
    await relay.close();
  });

  it('every answer of /save/ and /media/, refusals too, is inert: nosniff, a sandboxing CSP, no-store', async () => {
    const save = await client.download(origin.url('/film.mp4')).whenTicketed();
    const play = await client.download(origin.url('/film.mp4'), { type: 'video/mp4' }).whenTicketed();
    const answers = {
      'the file': await fetch(relay.base + save.path),
      'a range': await fetch(relay.base + play.path, { headers: { range: 'bytes=5-9' } }),
      'a forged ticket (403)': await fetch(`${relay.base}/media/forged.ticket/x.mp4`),
      'a ticket on the wrong path (403)': await fetch(relay.base + play.path.replace('/media/', '/save/')),
      'a foreign page (403)': await fetch(relay.base + save.path, { headers: { 'sec-fetch-site': 'cross-site' } }),
      'a malformed range (416)': await fetch(relay.base + save.path, { headers: { range: 'bytes=9-5' } }),
      'a range past the end (416)': await fetch(relay.base + play.path, { headers: { range: `bytes=${body.byteLength}-` } }),
    };
    const statuses = Object.values(answers).map((r) => r.status);
    expect(statuses).toEqual([200, 206, 403, 403, 403, 416, 416]);
    for (const [what, res] of Object.entries(answers)) {
      await res.body?.cancel();
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(res.headers.get('content-security-policy'), what).toBe("default-src 'none'; sandbox");
      expect(res.headers.get('cache-control'), what).toBe('no-store');
    }
  });

  it('HEAD tells the size, the ranges and the version, of the whole and of a range', async () => {
    const save = await client.download(origin.url('/film.mp4')).whenTicketed();
    const whole = await fetch(relay.base + save.path, { method: 'HEAD' });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(body.byteLength));
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('etag')).toMatch(/^"/);
    const part = await fetch(relay.base + save.path, { method: 'HEAD', headers: { range: 'bytes=100-' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-length')).toBe(String(body.byteLength - 100));
    expect(part.headers.get('content-range')).toBe(`bytes 100-${body.byteLength - 1}/${body.byteLength}`);
  });
});
