/**
 * A static file origin with Range, ETag and If-Range: the built-in demo's source, and the benchmarks' origin.
 * It stands apart from the relay (its own port) so the demo is fetched through the relay like any other URL.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';

export interface FileOrigin {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** `attachment`: answers say Content-Disposition: attachment, so that a browser following a link saves the file. */
export async function serveFile(file: string, host = '127.0.0.1', type = 'video/mp4', attachment = false): Promise<FileOrigin> {
  const stat = statSync(file);
  const size = stat.size;
  const etag = `"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const path = `/${encodeURIComponent(basename(file))}`;
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const useRange = range && (!ifRange || ifRange === etag);
    const start = useRange ? Number(range[1]) : 0;
    const end = useRange && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    const headers = {
      'content-type': type, 'accept-ranges': 'bytes', etag, 'last-modified': stat.mtime.toUTCString(),
      ...(attachment && { 'content-disposition': `attachment; filename="${basename(file)}"` }),
    };
    if (useRange && start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(useRange ? 206 : 200, {
      ...headers,
      'content-length': end - start + 1,
      ...(useRange && { 'content-range': `bytes ${start}-${end}/${size}` }),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file, { start, end, highWaterMark: 1024 * 1024 }).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, host, done));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host}:${port}${path}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
