/**
 * Node edge of the relay's WebSocket endpoint: who may open a socket (Host, Origin, socket caps), and the
 * socket's life (liveness by pong only, a bounded close). What is said on it belongs to `Session`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_CONTROL_BYTES } from '../../protocol/limits.js';
import type { PromMetrics } from './prom-metrics.js';
import { Session, type SessionContext, type WireMessage } from '../core/session.js';
import type { SitePolicy } from '../core/site.js';
import type { SocketQuota } from '../core/socket-quota.js';
import { giveBack } from './http1/read-buffers.js';

export const WS_PATH = '/ws';

export interface SocketEdgeOptions {
  ctx: SessionContext;
  site: SitePolicy;
  quota: SocketQuota;
  metrics: PromMetrics;
  pingIntervalMs: number;
  /** After the relay closes a socket, the peer has this long to finish the closing handshake. */
  closeGraceMs: number;
  remoteAddress(req: IncomingMessage): string;
}

export interface SocketEdge {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

/** The request's path, or null when its target is no URL (`GET http://[ HTTP/1.1` parses, then throws here). */
export function pathOf(target: string | undefined): string | null {
  try {
    return new URL(target ?? '/', 'http://relay').pathname;
  } catch {
    return null;
  }
}

/** Refuses an upgrade with a plain HTTP answer, before any WebSocket exists. */
export function refuse(socket: Duplex, status: string, text: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${text}\n`);
}

export function createSocketEdge(options: SocketEdgeOptions): SocketEdge {
  const { metrics, quota, site } = options;
  // Messages up to this size are read and refused with an error (limit_reached) on a socket that stays open;
  // anything larger is cut off by ws itself with close code 1009, before it is buffered.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * MAX_CONTROL_BYTES, perMessageDeflate: false });

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (pathOf(req.url) !== WS_PATH) return refuse(socket, '404 Not Found', 'not found');
    const refusal = site.originRefusal({ host: req.headers.host, origin: req.headers.origin, fetchSite: undefined });
    if (refusal) {
      metrics.socketsRefused.inc({ reason: 'foreign site' });
      return refuse(socket, '403 Forbidden', refusal);
    }
    const remote = options.remoteAddress(req);
    const full = quota.admit(remote);
    if (full) {
      metrics.socketsRefused.inc({ reason: full });
      return refuse(socket, '503 Service Unavailable', full === 'relay full' ? 'the relay holds as many connections as it may' : 'too many connections from this address');
    }
    socket.once('close', () => quota.release(remote));
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, remote, options));
  }

  return {
    upgrade,
    close: () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/**
 * One message out. A binary one goes as fragments, its payload as it is, never copied behind a header; once
 * written, its bytes are given back to the read buffer they came in.
 */
function sendWire(ws: WebSocket, data: WireMessage, done: (err?: Error) => void): void {
  if (typeof data === 'string') return ws.send(data, done);
  const written = (err?: Error): void => {
    data.forEach(giveBack);
    done(err);
  };
  data.forEach((part, i) => ws.send(part, { binary: true, fin: i === data.length - 1 }, i === data.length - 1 ? written : undefined));
}

/** A socket's life: its session, liveness by pong, and a close that does not wait for ever. */
function attach(ws: WebSocket, remote: string, options: SocketEdgeOptions): void {
  const { metrics } = options;
  let closing: ReturnType<typeof setTimeout> | undefined;
  // A ping on the new socket, which nothing else uses yet: its answer times the round trip for the page.
  let roundTrip: number | null = null;
  const pinged = performance.now();
  ws.once('pong', () => (roundTrip = performance.now() - pinged));
  ws.ping();
  const session = new Session(
    {
      send: (data, done) => sendWire(ws, data, done),
      close: (code, reason) => {
        ws.close(code, reason);
        // A peer that does not answer the close (it may not be reading at all) is cut off.
        closing ??= setTimeout(() => ws.terminate(), options.closeGraceMs);
      },
      roundTripMs: () => roundTrip,
    },
    remote,
    options.ctx,
  );
  // Alive means answering pings. Messages do not count: a client that writes without ever reading must not
  // keep its socket, and the replies queued for it, for ever.
  let alive = true;
  const ping = setInterval(() => {
    if (!alive) {
      metrics.socketsClosed.inc({ reason: 'ping timeout' });
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, options.pingIntervalMs);
  ws.on('pong', () => (alive = true));
  ws.on('message', (data, isBinary) => {
    if (isBinary) session.onBinary();
    else session.onText(data.toString());
  });
  ws.on('error', (err) => {
    // ws closes the socket itself after an error, such as a frame above maxPayload (1009).
    metrics.socketsClosed.inc({ reason: 'ws error' });
    options.ctx.log.warn({ session: session.id, err: err.message }, 'socket error');
  });
  ws.on('close', () => {
    clearInterval(ping);
    clearTimeout(closing);
    session.onClose();
  });
}
