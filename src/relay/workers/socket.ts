/**
 * Workers edge of the relay's WebSocket endpoint: who may open a socket (Origin), and the socket's life on a
 * WebSocketPair. What is said on it belongs to `Session`, as on Node.
 *
 * A Workers socket has no backpressure: `send` queues in the runtime and never says when the bytes left.
 * The session counts them out by the client's answers to its marks (core/write-marks.ts) instead, so the same
 * queue limits hold as on Node; and the relay holds at most `heldCreditBytes` of credit for each of at most
 * `maxStreams` streams (context.ts sizes them).
 */
import { joinBytes } from '../../protocol/bytes.js';
import { Session, type SessionContext } from '../core/session.js';
import type { SitePolicy } from '../core/site.js';
import { TEXT_HEADERS } from '../core/download-reply.js';

export const WS_PATH = '/ws';

export function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: TEXT_HEADERS });
}

/** Answers an upgrade to `/ws` with the client's end of a new socket, or a refusal in words. */
export function acceptSocket(request: Request, ctx: SessionContext, site: SitePolicy): Response {
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return text(426, 'this path takes WebSocket connections');
  const refusal = site.originRefusal({ host: request.headers.get('host') ?? undefined, origin: request.headers.get('origin') ?? undefined, fetchSite: undefined });
  if (refusal) return text(403, refusal);
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  attach(server, request.headers.get('cf-connecting-ip') ?? 'unknown', ctx);
  return new Response(null, { status: 101, webSocket: client });
}

function attach(ws: WorkersWebSocket, remote: string, ctx: SessionContext): void {
  const session = new Session(
    {
      send: (data) => {
        try {
          // One message: a Workers socket sends no fragments.
          ws.send(typeof data === 'string' ? data : joinBytes(data));
        } catch {
          // Closed meanwhile: its close event ends the session.
        }
      },
      sendsUnconfirmed: true,
      close: (code, reason) => ws.close(code, reason),
    },
    remote,
    ctx,
  );
  ws.addEventListener('message', (event) => {
    const data = (event as MessageEvent).data as unknown;
    if (typeof data === 'string') session.onText(data);
    else session.onBinary();
  });
  ws.addEventListener('close', (event) => {
    session.onClose();
    // The closing handshake is the Worker's to finish: left open, the runtime sees the request as hung.
    const { code } = event as CloseEvent;
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closed');
    } catch {
      // Already closed from this side.
    }
  });
  ws.addEventListener('error', () => {
    ctx.metrics.socketsClosed.inc({ reason: 'ws error' });
    session.onClose();
  });
}
