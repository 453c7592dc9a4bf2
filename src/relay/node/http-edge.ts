/**
 * Node edge of the relay's HTTP side: the page, `/healthz`, `/metrics`, `/config.json`, and `/save/` for
 * download managers. Every request must name the relay by a Host it answers to (DNS rebinding).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Downloads } from '../core/downloads.js';
import { TEXT_HEADERS } from '../core/download-reply.js';
import { serveTicket, ticketPathUse } from '../core/save-endpoint.js';
import type { PromMetrics } from './prom-metrics.js';
import type { SitePolicy } from '../core/site.js';
import { giveBack } from './http1/read-buffers.js';
import { StaticFiles } from './static-files.js';

export interface HttpEdgeOptions {
  site: SitePolicy;
  downloads: Downloads;
  metrics: PromMetrics;
  /** Whether a request may read /metrics. */
  mayReadMetrics(authorization: string | undefined): Promise<boolean>;
  staticDir: string;
  demoUrl: string | undefined;
  /** A download whose browser takes nothing for this long is dropped; the browser resumes it by range. */
  stalledReaderMs: number;
}

const text = (res: ServerResponse, status: number, body: string): void => {
  res.writeHead(status, TEXT_HEADERS).end(`${body}\n`);
};

export function createHttpHandler(options: HttpEdgeOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { site, metrics } = options;
  const statics = new StaticFiles(options.staticDir);
  return async function handleHttp(req, res) {
    const hostIssue = site.hostRefusal(req.headers.host);
    if (hostIssue) return text(res, 421, hostIssue);
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://relay').pathname);
    } catch {
      return text(res, 400, 'the path is not valid percent-encoding');
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end('{"ok":true}');
      return;
    }
    if (path === '/metrics') {
      if (!(await options.mayReadMetrics(req.headers.authorization))) {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="ferry metrics"', 'content-type': 'text/plain' }).end('metrics need the admin credential or the metrics token\n');
        return;
      }
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'only GET and HEAD');
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ demoUrl: options.demoUrl ?? null }));
      return;
    }
    if (ticketPathUse(path)) return serveDownload(req, res);
    statics.serve(path, req.headers['accept-encoding'], res);
  };

  async function serveDownload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const headers = Object.entries(req.headers).map(([name, value]): [string, string] => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]);
    const request = new Request(new URL(req.url ?? '/', 'http://relay'), { method: req.method ?? 'GET', headers, signal: abort.signal });
    await sendDownload(await serveTicket(request, options.downloads, site), req.method === 'HEAD', res, options.stalledReaderMs);
  }
}

/**
 * Writes a download as fast as the browser takes it. A failure mid-body, or a browser that takes nothing for
 * `stalledReaderMs`, drops the connection (never a clean short end), so the browser knows to resume.
 */
async function sendDownload(response: Response, head: boolean, res: ServerResponse, stalledReaderMs: number): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (head || !response.body) {
    await response.body?.cancel();
    res.end();
    return;
  }
  // One timer a download, and a flag per drain: drains come thousands of times a second.
  let waitingSince: number | null = null;
  res.on('drain', () => (waitingSince = null));
  const watch = setInterval(() => {
    if (!res.writableNeedDrain) return;
    waitingSince ??= Date.now();
    // Still waiting for the browser to take what was written: give its upstream back.
    if (Date.now() - waitingSince >= stalledReaderMs) res.destroy();
  }, Math.min(1000, stalledReaderMs / 4));
  await writeBody(response.body, res);
  clearInterval(watch);
}

/**
 * Writes a body as the browser takes it, giving each piece back to its read buffer once written. A failure
 * mid-body destroys the response; a browser gone cancels the body.
 */
async function writeBody(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  const gone = new Promise<void>((done) => res.once('close', done));
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), gone]);
      if (!read || read.done) break;
      const piece = read.value;
      if (!res.write(piece, () => giveBack(piece))) await Promise.race([once(res, 'drain'), gone]);
    }
    if (!res.destroyed) res.end();
  } catch {
    res.destroy();
  } finally {
    if (res.destroyed) await reader.cancel().catch(() => {});
  }
}
