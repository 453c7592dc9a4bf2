/**
 * The relay's HTTP/1.1 client for its origins (`http:` and `https:`), and `ferry get`'s for the relay's
 * `/save/`: connections through the guard's address choice, kept for reuse a few seconds once an answer is
 * read to its end, a stale kept connection retried once on a fresh one (for requests without a body), and the
 * connect and headers timeouts.
 */
import { FerryError } from '../../../protocol/codes.js';
import { Http1Connection, prepareRequest, type PreparedRequest } from './connection.js';
import { readBytesFor } from './read-buffers.js';
import type { ResponseHead } from './response-head.js';

export interface Http1ClientOptions {
  /** The checked address to dial for a host name and port; rejects with a FerryError. */
  pick(hostname: string, port: number): Promise<string>;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** Certificates to trust for `https:` beyond the system's (PEM). */
  ca?: string;
  onDial?: (address: string, port: number) => void;
}

export interface Http1Answer {
  head: ResponseHead;
  body: AsyncIterator<Uint8Array>;
  /** Aborts the connection at once (a body not read to its end cannot be reused). */
  destroy(): void;
}

/** A kept connection unused this long is closed (servers commonly close theirs after 5 s). */
const IDLE_MS = 4000;
const IDLE_PER_ORIGIN = 8;

export class Http1Client {
  /** Kept connections by origin, the last kept first to be reused. */
  private readonly idle = new Map<string, Http1Connection[]>();
  /** Each kept connection's origin, and the timer that closes it. */
  private readonly keeping = new Map<Http1Connection, { origin: string; timer: NodeJS.Timeout }>();
  private readonly open = new Set<Http1Connection>();

  constructor(private readonly options: Http1ClientOptions) {}

  async request(url: URL, method: string, headers: Record<string, string>, body: Uint8Array | undefined, signal: AbortSignal): Promise<Http1Answer> {
    const req = prepareRequest({ method, target: url.pathname + url.search, host: url.host, headers, body });
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new FerryError('cancelled');
      const kept = this.takeKept(url.origin);
      const conn = kept ?? (await this.connect(url, signal));
      try {
        return await this.exchange(conn, url.origin, req, signal);
      } catch (err) {
        // A kept connection the server closed as it was reused: nothing was processed, so asking again is safe.
        if (kept && attempt === 0 && !req.body && err instanceof StaleConnection) continue;
        throw err instanceof StaleConnection ? err.failure : err;
      }
    }
  }

  close(): void {
    for (const conn of this.open) conn.destroy();
  }

  private async exchange(conn: Http1Connection, origin: string, req: PreparedRequest, signal: AbortSignal): Promise<Http1Answer> {
    const response = conn.send(req, (reusable) => {
      signal.removeEventListener('abort', abort);
      if (reusable) this.keep(conn, origin);
      else conn.destroy();
    });
    // Once the answer is settled the connection may be carrying another request: a late abort leaves it be.
    const abort = (): void => {
      if (response.settled) return;
      response.fail(new FerryError('cancelled'));
      conn.destroy();
    };
    signal.addEventListener('abort', abort, { once: true });
    const timer = setTimeout(() => response.fail(new FerryError('upstream_timeout', 'the server did not send its headers in time')), this.options.headersTimeoutMs);
    try {
      const head = await response.head;
      return { head, body: { next: () => response.next() }, destroy: abort };
    } catch (err) {
      throw conn.requests > 1 && !response.answered && !signal.aborted ? new StaleConnection(err as FerryError) : err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(url: URL, signal: AbortSignal): Promise<Http1Connection> {
    const secure = url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const address = await this.options.pick(url.hostname, port);
    const tls = secure ? { hostname: url.hostname, ...(this.options.ca && { ca: this.options.ca }) } : null;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new FerryError('cancelled'));
      this.options.onDial?.(address, port);
      const settle = (err?: FerryError): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        if (err) reject(signal.aborted ? new FerryError('cancelled') : err);
        else resolve(conn);
      };
      const conn = new Http1Connection({ address, port, tls, readBytes: () => readBytesFor(this.open.size), connected: settle, closed: () => this.forget(conn) });
      this.open.add(conn);
      const abort = (): void => conn.destroy();
      signal.addEventListener('abort', abort, { once: true });
      const timer = setTimeout(() => {
        settle(new FerryError('connect_timeout'));
        conn.destroy();
      }, this.options.connectTimeoutMs);
    });
  }

  private keep(conn: Http1Connection, origin: string): void {
    const kept = this.idle.get(origin) ?? [];
    if (kept.length >= IDLE_PER_ORIGIN) return conn.destroy();
    kept.push(conn);
    this.idle.set(origin, kept);
    this.keeping.set(conn, { origin, timer: setTimeout(() => conn.destroy(), IDLE_MS).unref() });
  }

  private takeKept(origin: string): Http1Connection | undefined {
    const conn = this.idle.get(origin)?.at(-1);
    if (conn) this.stopKeeping(conn);
    return conn;
  }

  private forget(conn: Http1Connection): void {
    this.open.delete(conn);
    this.stopKeeping(conn);
  }

  /** Takes a connection out of the kept ones, if it is there. */
  private stopKeeping(conn: Http1Connection): void {
    const entry = this.keeping.get(conn);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.keeping.delete(conn);
    const kept = this.idle.get(entry.origin)!;
    kept.splice(kept.indexOf(conn), 1);
    if (kept.length === 0) this.idle.delete(entry.origin);
  }
}

/** A kept connection failed before any byte of its answer. */
class StaleConnection extends Error {
  constructor(readonly failure: FerryError) {
    super(failure.message);
  }
}
