/** `ferry get` as a user runs it: a real process, a real relay, files on disk. */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileNameFromDisposition, fileNameFromUrl } from '../src/protocol/filename.js';
import { formatProgress } from '../src/ui/progress-text.js';
import { parseServeArgs } from '../src/relay/node/config.js';
import type { Relay } from '../src/relay/node/server.js';
import { ferry } from './helpers/cli.js';
import { Origin, sha256, testBytes } from './helpers/origin.js';
import { CutProxy, startRelay } from './helpers/relay.js';

const body = testBytes(20 * 1024 * 1024, 3);
const big = testBytes(104 * 1024 * 1024, 8);
let origin: Origin;
let relay: Relay;
const dir = mkdtempSync(join(tmpdir(), 'ferry-get-'));

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/media/film.mp4', { body });
  origin.set('/media/big.bin', { body: big });
  origin.set('/media/named', { body, disposition: `attachment; filename*=UTF-8''The%20Film%20(2026).mp4` });
  relay = await startRelay({ allow: [origin.hostPort], password: 'pw' });
  writeFileSync(join(dir, 'pw'), 'pw\n');
});
afterAll(async () => {
  await relay.close();
  await origin.close();
});

describe('ferry get', () => {
  it('downloads through the relay', async () => {
    const out = join(dir, 'a.mp4');
    const r = await ferry(['get', origin.url('/media/film.mp4'), '-o', out, '--relay', relay.url, '--password-file', join(dir, 'pw')]);
    expect(r.code).toBe(0);
    expect(sha256(readFileSync(out))).toBe(sha256(body));
    expect(existsSync(`${out}.part`)).toBe(false);
  });

  it('continues a partial file of the same version', async () => {
    const out = join(dir, 'b.mp4');
    writeFileSync(`${out}.part`, body.subarray(0, 7_000_000));
    const etag = (await (await fetch(origin.url('/media/film.mp4'), { method: 'HEAD' })).headers.get('etag'))!;
    writeFileSync(`${out}.part.json`, JSON.stringify({ url: origin.url('/media/film.mp4'), validator: { etag }, total: body.byteLength }));
    const r = await ferry(['get', origin.url('/media/film.mp4'), '-o', out, '--relay', relay.url, '--password-file', join(dir, 'pw')]);
    expect(r.code).toBe(0);
    expect(origin.seen.at(-1)).toMatchObject({ range: 'bytes=7000000-', ifRange: etag });
    expect(sha256(readFileSync(out))).toBe(sha256(body));
  });

  it('goes on through cut connections within one run, and refuses to continue a part of another version', async () => {
    // A link that breaks every 6 MB, counted in bytes rather than timed, so that a busy machine cuts it alike.
    const proxy = await new CutProxy(relay.port, 6 * 1024 * 1024).start();
    const out = join(dir, 'cut.mp4');
    const resumed = (): number => origin.seen.filter((r) => r.path === '/media/film.mp4' && /^bytes=[1-9]\d*-$/.test(r.range ?? '')).length;
    const before = resumed();
    const r = await ferry(['get', origin.url('/media/film.mp4'), '-o', out, '-q', '--relay', proxy.url, '--password-file', join(dir, 'pw')]);
    expect(r.code).toBe(0);
    expect(sha256(readFileSync(out))).toBe(sha256(body));
    // It asked again from where each drop left it: three drops in 20 MB.
    expect(resumed() - before).toBeGreaterThanOrEqual(3);
    await proxy.close();
    // A part saved from another version of the file is never spliced onto this one.
    const stale = join(dir, 'stale.mp4');
    writeFileSync(`${stale}.part`, body.subarray(0, 1_000_000));
    writeFileSync(`${stale}.part.json`, JSON.stringify({ url: origin.url('/media/film.mp4'), validator: { etag: '"an older version"' }, total: body.byteLength }));
    const refused = await ferry(['get', origin.url('/media/film.mp4'), '-o', stale, '--relay', relay.url, '--password-file', join(dir, 'pw')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/changed on the server.*source_changed/);
  });

  it('writes to standard output with -o -, and says so when the reader closes it early', async () => {
    const args = ['get', origin.url('/media/film.mp4'), '-o', '-', '-q', '--relay', relay.url, '--password-file', join(dir, 'pw')];
    const piped = await ferry(args);
    expect(piped.code).toBe(0);
    expect(sha256(piped.stdout)).toBe(sha256(body));
    const cut = await ferry(args, 1_000_000);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/the output was closed before the end/);
  });

  it('exits non-zero with one line on an error', async () => {
    const r = await ferry(['get', origin.url('/nothing.mp4'), '-o', join(dir, 'c.mp4'), '--relay', relay.url, '--password-file', join(dir, 'pw')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/404.*upstream_status/);
  });

  it('survives 50 drops in one run, each a link breaking every 2 MB', async () => {
    const proxy = await new CutProxy(relay.port, 2 * 1024 * 1024).start();
    const out = join(dir, 'dropped.bin');
    const r = await ferry(['get', origin.url('/media/big.bin'), '-o', out, '-q', '--relay', proxy.url, '--password-file', join(dir, 'pw')]);
    const drops = proxy.cuts;
    await proxy.close();
    // Before issue 23: 20 attempts in all, and "the server sent fewer bytes than it announced" at the 20th drop.
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(drops).toBeGreaterThanOrEqual(50);
    expect(sha256(readFileSync(out))).toBe(sha256(big));
  });

  it('writes into what is no regular file, through a symlink into its file, and never replaces them', async () => {
    const args = (out: string): string[] => ['get', origin.url('/media/film.mp4'), '-o', out, '-q', '--relay', relay.url, '--password-file', join(dir, 'pw')];
    // A named pipe, read by another process: it stays a pipe, and what comes out of it is the file.
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = new Promise<Buffer>((done) => execFile('cat', [fifo], { encoding: 'buffer', maxBuffer: 64 << 20 }, (_e, out) => done(out)));
    expect((await ferry(args(fifo))).code).toBe(0);
    expect(sha256(await reader)).toBe(sha256(body));
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // A symlink to a file: the link stays a link, and the file it points to is the download.
    const target = join(dir, 'target.mp4');
    writeFileSync(target, 'an older file');
    symlinkSync(target, join(dir, 'link.mp4'));
    expect((await ferry(args(join(dir, 'link.mp4')))).code).toBe(0);
    expect(lstatSync(join(dir, 'link.mp4')).isSymbolicLink()).toBe(true);
    expect(sha256(readFileSync(target))).toBe(sha256(body));
  });

  it('without -o, names the file as the server does, and never replaces a file of that name', async () => {
    const here = mkdtempSync(join(tmpdir(), 'ferry-named-'));
    const args = ['get', origin.url('/media/named'), '-q', '--relay', relay.url, '--password-file', join(dir, 'pw')];
    expect((await ferry(args, undefined, here)).code).toBe(0);
    expect(sha256(readFileSync(join(here, 'The Film (2026).mp4')))).toBe(sha256(body));
    const again = await ferry(args, undefined, here);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/The Film \(2026\)\.mp4 already exists: give -o/);
  });

  it('prints its version', async () => {
    const r = await ferry(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(`ferry ${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}\n`);
  });

  it('says so when the password is wrong', async () => {
    writeFileSync(join(dir, 'bad'), 'nope');
    const r = await ferry(['get', origin.url('/media/film.mp4'), '-o', join(dir, 'd.mp4'), '--relay', relay.url, '--password-file', join(dir, 'bad')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/auth_refused/);
  });
});

describe('cli pieces', () => {
  it('names files safely', () => {
    expect(fileNameFromUrl('https://x/a/b/film%20one.mp4?x=1')).toBe('film one.mp4');
    expect(fileNameFromUrl('https://x/a/..%2F..%2Fetc%2Fpasswd')).toBe('passwd');
    expect(fileNameFromUrl('https://x/')).toBe('download');
    expect(fileNameFromDisposition('attachment; filename="film \\"one\\".mp4"')).toBe('film _one_.mp4');
    expect(fileNameFromDisposition("attachment; filename=a.mp4; filename*=UTF-8''%C3%A9t%C3%A9.mp4")).toBe('été.mp4');
    expect(fileNameFromDisposition('inline')).toBeNull();
    // Bidi overrides, zero-width and other invisible characters go: `invoice‮fdp.exe` would read `invoiceexe.pdf`.
    expect(fileNameFromDisposition('attachment; filename*=UTF-8\'\'invoice%E2%80%AEfdp.exe')).toBe('invoicefdp.exe');
    expect(fileNameFromUrl('https://x/a%E2%80%8Bb%E2%81%A6c%E2%80%A8d%0A.mp4')).toBe('abcd.mp4');
  });

  it('draws a progress bar', () => {
    expect(formatProgress(512 * 1024 * 1024, 1024 * 1024 * 1024, 100 * 1024 * 1024, 10)).toBe('[#####-----] 50.0% 512/1024 MB · 100.0 MB/s · 6 s left');
  });

  it('refuses to listen openly without a password', () => {
    expect(() => parseServeArgs(['--host', '0.0.0.0'], {})).toThrow(/without a password/);
    expect(parseServeArgs(['--host', '0.0.0.0', '--no-auth'], {})).toMatchObject({ host: '0.0.0.0', noAuth: true });
    expect(parseServeArgs([], { FERRY_PORT: '9000', FERRY_ALLOW_HOSTS: 'a:1,b' })).toMatchObject({ port: 9000, allowHosts: [{ host: 'a', port: 1 }, { host: 'b', port: undefined }] });
  });

  it('refuses to start with an empty or short secret, instead of running without one', () => {
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    expect(() => parseServeArgs(['--password-file', file('empty-pw', '')], {})).toThrow(/password in .*empty-pw is empty/);
    expect(() => parseServeArgs(['--password-file', file('nl-pw', '\n')], {})).toThrow(/is empty/);
    expect(() => parseServeArgs(['--ticket-secret-file', file('empty-ts', '')], {})).toThrow(/ticket secret .* is empty/);
    expect(() => parseServeArgs(['--ticket-secret-file', file('short-ts', 'hunter2hunter2')], {})).toThrow(/too short: it needs at least 32/);
    expect(() => parseServeArgs([], { FERRY_PASSWORD: '' })).toThrow(/FERRY_PASSWORD is empty/);
    const long = 'x'.repeat(40);
    expect(parseServeArgs(['--ticket-secret-file', file('ts1', long), '--ticket-secret-file', file('ts2', `${long}y`)], {})).toMatchObject({ ticketSecrets: [long, `${long}y`] });
  });
});
