/**
 * The player's page and its assets, from the built directory. Text assets go out gzipped to browsers that
 * take it: the script is 240 KB, 62 KB gzipped, and on a slow link its transfer comes before playback can
 * begin. Each is compressed once, on its first request, and kept (the page's few files, a few hundred KB).
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TEXT_HEADERS } from '../core/download-reply.js';
import { WS_PATH } from './socket-edge.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.mp4': 'video/mp4',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  // libass for ASS subtitles (player/ass-overlay.ts): its WebAssembly is compiled as it streams only with this type.
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

const PLACEHOLDER = `<!doctype html><meta charset="utf-8"><title>Ferry relay</title>
<h1>Ferry relay</h1><p>This is a Ferry relay. Clients speak to it over a WebSocket at <code>${WS_PATH}</code>.
The player page is not built: run <code>npm run build</code>.</p>`;

const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.map', '.wasm']);

export class StaticFiles {
  /** Gzipped bodies by file, with the modification time they were made from. */
  private readonly gzipped = new Map<string, { mtimeMs: number; body: Buffer }>();

  constructor(private readonly root: string) {}

  serve(path: string, acceptEncoding: string | undefined, res: ServerResponse): void {
    const target = join(this.root, path === '/' ? '/index.html' : path);
    const stat = target.startsWith(this.root + sep) ? statSync(target, { throwIfNoEntry: false }) : undefined;
    if (!stat?.isFile()) {
      if (path === '/' || path === '/index.html') {
        res.writeHead(200, { 'content-type': TYPES['.html']! }).end(PLACEHOLDER);
        return;
      }
      res.writeHead(404, TEXT_HEADERS).end('not found\n');
      return;
    }
    const headers = { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream', 'x-content-type-options': 'nosniff', vary: 'accept-encoding' };
    if (COMPRESSIBLE.has(extname(target)) && /\bgzip\b/.test(acceptEncoding ?? '')) {
      const body = this.gzip(target, stat.mtimeMs);
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': body.byteLength }).end(body);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': stat.size });
    createReadStream(target).pipe(res);
  }

  private gzip(target: string, mtimeMs: number): Buffer {
    const kept = this.gzipped.get(target);
    if (kept?.mtimeMs === mtimeMs) return kept.body;
    const body = gzipSync(readFileSync(target));
    this.gzipped.set(target, { mtimeMs, body });
    return body;
  }
}
