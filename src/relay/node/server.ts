/** Node edge of the relay: HTTP (page, health, metrics) and the WebSocket endpoint, wired to sessions. */
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { MAX_STREAMS_PER_SOCKET } from '../../protocol/limits.js';
import { Auth } from '../core/auth.js';
import { createDecodeEdge, RELAY_DECODES, type DecodeEdge } from './audio-decode.js';
import type { RelayConfig } from './config.js';
import { addressPicker, type Resolver } from './dialer.js';
import { Http1Client } from './http1/client.js';
import { Downloads } from '../core/downloads.js';
import { DestinationPolicy } from '../core/guard.js';
import { createHttpHandler } from './http-edge.js';
import { QueueBudget } from '../core/queue-budget.js';
import { IdleStreams } from '../core/idle-streams.js';
import { PromMetrics } from './prom-metrics.js';
import type { Logger } from '../core/log.js';
import type { Session, SessionContext, SessionLimits } from '../core/session.js';
import { SitePolicy } from '../core/site.js';
import { createSocketEdge, WS_PATH } from './socket-edge.js';
import { SocketQuota } from '../core/socket-quota.js';
import { TicketSealer } from '../core/ticket.js';
import { createUpstream } from './upstream.js';

export { WS_PATH };
const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../../dist/app', import.meta.url));

export interface RelayOptions {
  config: RelayConfig;
  /** Replaces DNS, for tests that must never send a packet to a non-loopback address. */
  resolver?: Resolver;
  /** Certificates (PEM) to trust for `https:` origins beyond the system's, as NODE_EXTRA_CA_CERTS does for a process. */
  originCa?: string;
  limits?: Partial<SessionLimits> & {
    connectTimeoutMs?: number;
    headersTimeoutMs?: number;
    /** A client must finish its HTTP request (or WebSocket handshake) within this. */
    handshakeTimeoutMs?: number;
    pingIntervalMs?: number;
    /** After the relay closes a socket, the peer has this long to answer before it is cut off. */
    closeGraceMs?: number;
    auth?: { baseDelayMs?: number; maxDelayMs?: number; maxWaiting?: number };
    downloads?: { maxRecords?: number; maxCancelled?: number };
    /** Streams across the relay that may wait for credit with an upstream open; past it the oldest is parked. */
    maxIdleUpstreams?: number;
    /** Bytes queued for all sockets together past which a socket queues no more than its floor (QueueBudget). */
    queueBudgetBytes?: number;
    /** A decode socket (`--decode-audio`) that sends nothing for this long is closed. */
    decodeIdleMs?: number;
  };
  log?: Logger;
  /** The URL the page opens on when it is given none (the built-in demo). */
  demoUrl?: string;
}

export interface Relay {
  server: Server;
  metrics: PromMetrics;
  /** ws://host:port/ws once listening. */
  url: string;
  port: number;
  listen(): Promise<void>;
  close(): Promise<void>;
}

export function createRelay(options: RelayOptions): Relay {
  const { config } = options;
  const metrics = new PromMetrics();
  const log: Logger = options.log ?? pino({ level: config.logLevel, base: { svc: 'ferry-relay' } });
  const { closeUpstream, ctx } = sessionContext(options, metrics, log);
  if (config.decodeAudio) ctx.decodes = RELAY_DECODES;
  const site = new SitePolicy(config.host, config.allowOrigins);
  const server = httpServer(options, ctx, site);
  const sockets = createSocketEdge({
    ctx,
    site,
    quota: new SocketQuota(config.maxSockets, config.maxSocketsPerAddress),
    metrics,
    pingIntervalMs: options.limits?.pingIntervalMs ?? 20_000,
    closeGraceMs: options.limits?.closeGraceMs ?? 1000,
    remoteAddress: (req) => remoteAddress(req, config.trustProxy),
  });
  const decoder = config.decodeAudio ? decodeEdge(site, ctx, options.limits?.decodeIdleMs ?? 60_000) : null;
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    if (decoder?.owns(req)) decoder.upgrade(req, socket, head);
    else sockets.upgrade(req, socket, head);
  });

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
      sockets.close();
      decoder?.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      closeUpstream();
    },
  };
  return relay;
}

type Context = SessionContext & { metrics: PromMetrics };

/** The core's parts, on the Node edge's upstream client: what every session shares. */
function sessionContext(options: RelayOptions, metrics: PromMetrics, log: Logger): { closeUpstream: () => void; ctx: Context } {
  const { config, limits: l } = options;
  const policy = new DestinationPolicy(config.allowHosts);
  const http = new Http1Client({
    pick: addressPicker({ policy, ...(options.resolver && { resolver: options.resolver }) }),
    connectTimeoutMs: l?.connectTimeoutMs ?? 10_000,
    headersTimeoutMs: l?.headersTimeoutMs ?? 15_000,
    onDial: () => metrics.dials.inc(),
    ...(options.originCa && { ca: options.originCa }),
  });
  const auth = new Auth({ password: config.password, adminPassword: config.adminPassword, metricsToken: config.metricsToken, keySecret: config.ticketSecrets[0], ...l?.auth });
  const limits: SessionLimits = {
    maxStreams: l?.maxStreams ?? MAX_STREAMS_PER_SOCKET,
    socketQueueBytes: l?.socketQueueBytes ?? 8 * 1024 * 1024,
    idleMs: l?.idleMs ?? 30_000,
    creditIdleMs: l?.creditIdleMs ?? 20_000,
    maxQueuedBytes: l?.maxQueuedBytes ?? 16 * 1024 * 1024,
    helloTimeoutMs: l?.helloTimeoutMs ?? 10_000,
    maxProtocolErrors: l?.maxProtocolErrors ?? 50,
  };
  const openUpstream = createUpstream(http, policy);
  const downloads = new Downloads({ sealer: new TicketSealer(config.ticketSecrets), openUpstream, metrics, log, idleMs: limits.idleMs, ...l?.downloads });
  // About 2 MiB each at most: 64 idle streams hold 128 MiB, whatever the number of streams opened.
  const idleStreams = new IdleStreams(l?.maxIdleUpstreams ?? 64);
  // 32 MiB for the relay's slow readers together, and a frame (256 KiB) each that every socket may always have queued.
  const queueBudget = new QueueBudget(l?.queueBudgetBytes ?? 32 * 1024 * 1024, 256 * 1024);
  return { closeUpstream: () => http.close(), ctx: { auth, idleStreams, openUpstream, downloads, metrics, log, registry: new Map<string, Session>(), limits, queueBudget } };
}

/** Pages' sound decoded with ffmpeg (`--decode-audio`), which must be there: a relay does not start without it. */
function decodeEdge(site: SitePolicy, ctx: Context, idleMs: number): DecodeEdge {
  const ffmpeg = 'ffmpeg';
  if (spawnSync(ffmpeg, ['-version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('--decode-audio needs ffmpeg on the PATH (on Debian: apt-get install ffmpeg)');
  }
  const maxDecodes = availableParallelism();
  return createDecodeEdge({ site, downloads: ctx.downloads, log: ctx.log, maxDecodes, ffmpeg, idleMs });
}

/** The HTTP server: slow-loris bounds, the connection cap, and the page, metrics and /save/ routes. */
function httpServer(options: RelayOptions, ctx: Context, site: SitePolicy): Server {
  const { config } = options;
  const handshakeTimeoutMs = options.limits?.handshakeTimeoutMs ?? 10_000;
  // Slow-loris: a client that trickles its headers (or its upgrade request) is cut off.
  const server = createServer({ headersTimeout: handshakeTimeoutMs, requestTimeout: 3 * handshakeTimeoutMs, connectionsCheckingInterval: Math.min(1000, handshakeTimeoutMs) });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    ctx.metrics.socketsClosed.inc({ reason: timeout ? 'handshake timeout' : 'bad http' });
    if (socket.writable) socket.end(timeout ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });
  // Past the sockets cap, TCP connections that are not yet sockets (page loads, handshakes) are bounded too.
  server.maxConnections = config.maxSockets + 256;
  const handleHttp = createHttpHandler({
    site,
    downloads: ctx.downloads,
    metrics: ctx.metrics,
    mayReadMetrics: async (authorization) => config.metricsOpen || ctx.auth.isMetricsReader(/^Bearer (.+)$/.exec(authorization ?? '')?.[1]),
    staticDir: resolve(config.staticDir ?? DEFAULT_STATIC_DIR),
    demoUrl: options.demoUrl,
    stalledReaderMs: ctx.limits.creditIdleMs,
  });
  server.on('request', (req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      ctx.log.warn({ err: String(err) }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return server;
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
