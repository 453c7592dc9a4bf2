/**
 * Node edge of the upstream: the requests themselves, through the guard's address choice. What to ask and
 * what to accept is core/upstream.ts. `http:` hops go through the relay's own HTTP/1.1 client, which reads
 * 1 MiB at a time without a copy (http1/connection.ts says why); `https:` hops through undici, whose errors
 * are mapped here and whose bodies are read in large pieces.
 */
import type { Readable } from 'node:stream';
import { errors as undiciErrors, request, type Dispatcher } from 'undici';
import { FerryError } from '../../protocol/codes.js';
import type { DestinationPolicy } from '../core/guard.js';
import { hopByHop, type Hop, type OpenUpstream, type SentHop } from '../core/upstream.js';
import type { Http1Client } from './http1/client.js';
import { networkFailure } from './http1/connection.js';

/** What the body may buffer before the socket to the origin is paused. */
const BODY_BUFFER_BYTES = 1024 * 1024;

function mapNetworkError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as { code?: unknown; name?: string };
  // DOM exceptions carry a numeric code; only Node's and undici's string codes say anything here.
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (e.name === 'AbortError' || code === 'UND_ERR_ABORTED') return new FerryError('cancelled');
  if (e instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') return new FerryError('connect_timeout');
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new FerryError('upstream_timeout', 'the server did not send its headers in time');
  if (code === 'UND_ERR_HEADERS_OVERFLOW') return new FerryError('upstream_error', 'the server sent headers that are too large');
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return new FerryError('truncated');
  if (code?.startsWith('HPE_')) return new FerryError('upstream_error', 'the server sent a malformed HTTP response');
  return networkFailure(code);
}

type Headers = Dispatcher.ResponseData['headers'];
const headerOf = (h: Headers) => (name: string): string | null => {
  const v = h[name];
  return v === undefined ? null : Array.isArray(v) ? (v[0] ?? null) : v;
};

export function createUpstream(http: Http1Client, tlsAgent: Dispatcher, policy: DestinationPolicy): OpenUpstream {
  return hopByHop((hop, signal) => (hop.url.protocol === 'http:' ? sendHttp1(http, hop, signal) : sendUndici(tlsAgent, hop, signal)), policy);
}

async function sendHttp1(http: Http1Client, hop: Hop, signal: AbortSignal): Promise<SentHop> {
  const answer = await http.request(hop.url, hop.method, hop.headers, hop.body, signal);
  const header = (name: string): string | null => answer.head.fields.get(name) ?? null;
  return { status: answer.head.status, header, relay: () => ({ body: answer.body, destroy: answer.destroy }), discard: answer.destroy };
}

async function sendUndici(dispatcher: Dispatcher, hop: Hop, signal: AbortSignal): Promise<SentHop> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(hop.url, { dispatcher, method: hop.method, headers: hop.headers, body: hop.body, signal, highWaterMark: BODY_BUFFER_BYTES });
  } catch (err) {
    throw mapNetworkError(err);
  }
  const drop = (): void => discard(res.body);
  return { status: res.statusCode, header: headerOf(res.headers), relay: () => ({ body: coalescingReader(res.body), destroy: drop }), discard: drop };
}

/**
 * Reads whatever the body has buffered in one piece, so the relay sends a few large frames rather than many
 * 64 KiB ones (each frame costs the reader an event). Reading nothing leaves the origin paused.
 */
function coalescingReader(body: Readable): AsyncIterator<Uint8Array> {
  let failure: FerryError | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const poke = (): void => wake?.();
  body.on('readable', poke);
  body.on('end', () => {
    ended = true;
    poke();
  });
  body.on('error', (err) => {
    failure = mapNetworkError(err);
    poke();
  });
  return {
    async next() {
      for (;;) {
        if (failure) throw failure;
        const chunk = body.read() as Uint8Array | null;
        if (chunk !== null) return { value: chunk, done: false };
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    },
  };
}

/** Destroying an undici body emits an AbortError; nobody is left to care about it. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}
