/** A static file origin with Range and ETag, for benchmarks (run as its own process). */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const file = process.argv[2]!;
const size = statSync(file).size;
const etag = `"bench-${size}"`;
const server = createServer((req, res) => {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Number(range[2]) : size - 1;
  const headers = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes', etag, 'content-length': end - start + 1 };
  if (range) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}` });
  else res.writeHead(200, headers);
  if (req.method === 'HEAD') return res.end();
  createReadStream(file, { start, end, highWaterMark: 1024 * 1024 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => console.log(`origin listening ${(server.address() as AddressInfo).port}`));
