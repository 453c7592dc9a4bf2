/**
 * Playback tickets without a browser: the page's media element reads `/media/TICKET/NAME` with ranges, of a
 * media type and inline, never as a page the relay's origin would run; the ticket is for one version of one
 * URL, and for playing only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/client/connection.js';
import type { Relay } from '../src/relay/node/server.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { connect, startRelay } from './helpers/relay.js';

const body = testBytes(3 * 1024 * 1024 + 5, 9);
let origin: Origin;
let relay: Relay;
let client: Connection;
let base: string;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/talk.wav', { body, type: 'application/octet-stream' });
  origin.set('/film.webm', { body, type: 'video/webm' });
  origin.set('/page.html', { body: new TextEncoder().encode('<script>alert(1)</script>'), type: 'text/html' });
  relay = await startRelay({ allow: [origin.hostPort] });
  base = `http://127.0.0.1:${relay.port}`;
  client = connect(relay.url);
});

afterAll(async () => {
  client.close();
  await relay.close();
  await origin.close();
});

describe('playback over /media/', () => {
  it('serves the file inline with ranges, validators and the type the page found', async () => {
    const ticket = await client.download(origin.url('/talk.wav'), { type: 'audio/wav' }).whenTicketed();
    expect(ticket.path).toMatch(/^\/media\/[\w-]+\/talk\.wav$/);
    const whole = await fetch(base + ticket.path);
    expect(whole.headers.get('content-type')).toBe('audio/wav');
    expect(whole.headers.get('content-disposition')).toMatch(/^inline; /);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('etag')).toMatch(/^"/);
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(body));
    const part = await fetch(base + ticket.path, { headers: { range: 'bytes=1000000-1999999', 'if-range': whole.headers.get('etag')! } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000000-1999999/${body.byteLength}`);
    expect(sha256(new Uint8Array(await part.arrayBuffer()))).toBe(sha256(body.subarray(1_000_000, 2_000_000)));
    const head = await fetch(base + ticket.path, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('audio/wav');
  });

  it('keeps the origin’s media type when the page found none, and reports every byte sent', async () => {
    const play = client.download(origin.url('/film.webm'), { type: null });
    const ticket = await play.whenTicketed();
    let sent = 0;
    play.events.progress = (_bytes, _total, _done, _stopped, s) => (sent = s);
    for (let i = 0; i < 2; i++) await (await fetch(base + ticket.path, { headers: { range: 'bytes=0-' } })).arrayBuffer();
    const res = await fetch(base + ticket.path, { method: 'HEAD' });
    expect(res.headers.get('content-type')).toBe('video/webm');
    // Read twice over: a player's re-reads count, and the ticket is not "done" after the first.
    await expect.poll(() => sent, { timeout: 3000 }).toBeGreaterThan(body.byteLength);
  });

  it('never serves markup as a page of the relay’s origin', async () => {
    const ticket = await client.download(origin.url('/page.html'), { type: 'text/html' }).whenTicketed();
    const res = await fetch(base + ticket.path);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/sandbox/);
  });

  it('takes a play ticket only at /media/, a save ticket only at /save/, and nothing from a foreign page', async () => {
    const play = await client.download(origin.url('/film.webm'), { type: 'video/webm' }).whenTicketed();
    const save = await client.download(origin.url('/film.webm')).whenTicketed();
    expect((await fetch(base + play.path.replace('/media/', '/save/'))).status).toBe(403);
    expect((await fetch(base + save.path.replace('/save/', '/media/'))).status).toBe(403);
    expect((await fetch(base + play.path, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
  });

  it('answers 412 once the file has changed, so no other version is spliced into the playback', async () => {
    origin.set('/v.webm', { body, type: 'video/webm' });
    const ticket = await client.download(origin.url('/v.webm'), { type: 'video/webm' }).whenTicketed();
    origin.set('/v.webm', { body: testBytes(body.byteLength, 10), type: 'video/webm' });
    const res = await fetch(base + ticket.path, { headers: { range: 'bytes=100-' } });
    expect(res.status).toBe(412);
    expect(await res.text()).toMatch(/changed on the server/);
  });
});
