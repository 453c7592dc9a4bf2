/** Node edge of the relay: HTTP (page, health, metrics) and the WebSocket endpoint, wired to sessions. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_CONTROL_BYTES, MAX_STREAMS_PER_SOCKET } from '../protocol/limits.js';
import { Auth } from './auth.js';
import type { RelayConfig } from './config.js';
import { createDialer, type Resolver } from './dialer.js';
import { DestinationPolicy } from './guard.js';
import { RelayMetrics } from './metrics.js';
import { Downloads, SAVE_PATH, type DownloadReply } from './downloads.js';
import { Session, type Logger, type SessionLimits } from './session.js';
import { TicketSigner } from './ticket.js';
import { createUpstream } from './upstream.js';

export const WS_PATH = '/ws';
const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../dist/app', import.meta.url));

export interface RelayOptions {
  config: RelayConfig;
  /** Replaces DNS, for tests that must never send a packet to a non-loopback address. */
  resolver?: Resolver;
  limits?: Partial<SessionLimits> & {
    connectTimeoutMs?: number;
    headersTimeoutMs?: number;
    /** A client must finish its HTTP request (or WebSocket handshake) within this. */
    handshakeTimeoutMs?: number;
    pingIntervalMs?: number;
    auth?: { maxFailures?: number; windowMs?: number };
  };
  log?: Logger;
  /** The URL the page opens on when it is given none (the built-in demo). */
  demoUrl?: string;
}

export interface Relay {
  server: Server;
  metrics: RelayMetrics;
  /** ws://host:port/ws once listening. */
  url: string;
  port: number;
  listen(): Promise<void>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.mp4': 'video/mp4',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

const PLACEHOLDER = `<!doctype html><meta charset="utf-8"><title>Ferry relay</title>
<h1>Ferry relay</h1><p>This is a Ferry relay. Clients speak to it over a WebSocket at <code>${WS_PATH}</code>.
The player page is not built: run <code>npm run build</code>.</p>`;

export function createRelay(options: RelayOptions): Relay {
  const { config } = options;
  const metrics = new RelayMetrics();
  const log: Logger = options.log ?? pino({ level: config.logLevel, base: { svc: 'ferry-relay' } });
  const policy = new DestinationPolicy(config.allowHosts);
  const dialer = createDialer({
    policy,
    ...(options.resolver && { resolver: options.resolver }),
    connectTimeoutMs: options.limits?.connectTimeoutMs ?? 10_000,
    headersTimeoutMs: options.limits?.headersTimeoutMs ?? 15_000,
    onDial: () => metrics.dials.inc(),
  });
  const auth = new Auth({ password: config.password, adminPassword: config.adminPassword, ...options.limits?.auth });
  const limits: SessionLimits = {
    maxStreams: options.limits?.maxStreams ?? MAX_STREAMS_PER_SOCKET,
    socketQueueBytes: options.limits?.socketQueueBytes ?? 8 * 1024 * 1024,
    idleMs: options.limits?.idleMs ?? 30_000,
    helloTimeoutMs: options.limits?.helloTimeoutMs ?? 10_000,
    maxProtocolErrors: options.limits?.maxProtocolErrors ?? 50,
  };
  const openUpstream = createUpstream(dialer, policy);
  const downloads = new Downloads({ signer: new TicketSigner(config.ticketSecret ?? config.password), openUpstream, metrics, log, idleMs: limits.idleMs });
  const ctx = { auth, openUpstream, downloads, metrics, log, registry: new Map<string, Session>(), limits };
  const staticDir = resolve(config.staticDir ?? DEFAULT_STATIC_DIR);

  const handshakeTimeoutMs = options.limits?.handshakeTimeoutMs ?? 10_000;
  const pingIntervalMs = options.limits?.pingIntervalMs ?? 20_000;
  const server = createServer(
    // Slow-loris: a client that trickles its headers (or its upgrade request) is cut off.
    { headersTimeout: handshakeTimeoutMs, requestTimeout: 3 * handshakeTimeoutMs, connectionsCheckingInterval: Math.min(1000, handshakeTimeoutMs) },
    (req, res) => {
      handleHttp(req, res).catch((err: unknown) => {
        log.warn({ err: String(err) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    metrics.socketsClosed.inc({ reason: timeout ? 'handshake timeout' : 'bad http' });
    if (socket.writable) socket.end(timeout ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, sockets: ctx.registry.size }));
      return;
    }
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ demoUrl: options.demoUrl ?? null }));
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path.startsWith(SAVE_PATH)) {
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      const ticket = path.slice(SAVE_PATH.length).split('/')[0] ?? '';
      await sendDownload(await downloads.serve(ticket, req.headers.range ?? null, req.method, abort.signal), res);
      return;
    }
    serveStatic(staticDir, path, res);
  }

  // Messages up to this size are read and refused with an error (limit_reached) on a socket that stays open;
  // anything larger is cut off by ws itself with close code 1009, before it is buffered.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * MAX_CONTROL_BYTES, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://relay').pathname !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, remoteAddress(req, config.trustProxy)));
  });

  function attach(ws: WebSocket, remote: string): void {
    const session = new Session(
      {
        send: (data, done) => (typeof data === 'string' ? ws.send(data, done) : ws.send(data, { binary: true }, done)),
        close: (code, reason) => ws.close(code, reason),
      },
      remote,
      ctx,
    );
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) {
        metrics.socketsClosed.inc({ reason: 'ping timeout' });
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, pingIntervalMs);
    ws.on('pong', () => (alive = true));
    ws.on('message', (data, isBinary) => {
      alive = true;
      if (isBinary) session.onBinary();
      else session.onText(data.toString());
    });
    ws.on('error', (err) => {
      // ws closes the socket itself after an error, such as a frame above maxPayload (1009).
      metrics.socketsClosed.inc({ reason: 'ws error' });
      log.warn({ session: session.id, err: err.message }, 'socket error');
    });
    ws.on('close', () => {
      clearInterval(ping);
      session.onClose();
    });
  }

  const relay: Relay = {
    server,
    metrics,
    url: '',
    port: 0,
    listen: () =>
      new Promise((done, fail) => {
        server.once('error', fail);
        server.listen(config.port, config.host, () => {
          const address = server.address() as AddressInfo;
          relay.port = address.port;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          relay.url = `ws://${host}:${address.port}${WS_PATH}`;
          log.info({ url: `http://${host}:${address.port}/` }, 'relay listening');
          done();
        });
      }),
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await dialer.close();
    },
  };
  return relay;
}

/** Writes a download as fast as the browser takes it; a failure mid-body drops the connection so the browser resumes. */
async function sendDownload(reply: DownloadReply, res: ServerResponse): Promise<void> {
  res.writeHead(reply.status, reply.headers);
  if (!reply.body) {
    res.end(reply.text);
    return;
  }
  // pipeline waits for drain, and on a failure (or a client gone) stops the body and destroys the response.
  await pipeline(reply.body, res).catch(() => {});
}

function remoteAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    // The last entry is the one our own proxy added; earlier ones are whatever the client claimed.
    const forwarded = req.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').pop()?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

function serveStatic(root: string, path: string, res: ServerResponse): void {
  const target = resolve(join(root, decodeURIComponent(path === '/' ? '/index.html' : path)));
  if (!target.startsWith(root + sep) || !existsSync(target) || !statSync(target).isFile()) {
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': TYPES['.html']! }).end(PLACEHOLDER);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    'content-length': statSync(target).size,
    'x-content-type-options': 'nosniff',
  });
  createReadStream(target).pipe(res);
}
