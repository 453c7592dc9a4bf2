/**
 * Fetches one upstream resource with HTTP Range, following redirects hop by hop and validating that what
 * comes back is the range asked for, of the version asked for. Never passes off a 200 as a continuation.
 */
import type { Readable } from 'node:stream';
import { errors as undiciErrors, request, type Dispatcher } from 'undici';
import { FerryError } from '../protocol/codes.js';
import type { MetaMessage, Validator } from '../protocol/frames.js';
import type { Method } from '../protocol/limits.js';
import { checkUrl, type DestinationPolicy } from './guard.js';

export const MAX_REDIRECTS = 5;

export interface UpstreamRequest {
  url: string;
  method: Method;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  offset: number;
  /** Last byte wanted, inclusive. */
  end: number | undefined;
  validator: Validator | undefined;
  signal: AbortSignal;
}

export type ResponseMeta = Omit<MetaMessage, 't' | 'id'> & {
  /** Bytes this body should carry, when known; fewer is a truncation. */
  length: number | null;
};

export interface UpstreamResponse {
  meta: ResponseMeta;
  body: AsyncIterator<Uint8Array>;
  /** Aborts the upstream connection at once. */
  destroy(): void;
}

export type OpenUpstream = (req: UpstreamRequest) => Promise<UpstreamResponse>;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** What the body may buffer before the socket to the origin is paused. */
const BODY_BUFFER_BYTES = 1024 * 1024;
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

type Headers = Record<string, string | string[] | undefined>;
const header = (h: Headers, name: string): string | null => {
  const v = h[name];
  return v === undefined ? null : Array.isArray(v) ? (v[0] ?? null) : v;
};

function strongValidator(h: Headers): Validator | null {
  const etag = header(h, 'etag');
  const lastModified = header(h, 'last-modified');
  const v: Validator = {};
  if (etag && !etag.startsWith('W/')) v.etag = etag;
  if (lastModified) v.lastModified = lastModified;
  return v.etag || v.lastModified ? v : null;
}

function sameVersion(asked: Validator, got: Validator | null): boolean {
  if (asked.etag) return got?.etag === asked.etag;
  if (asked.lastModified) return got?.lastModified === asked.lastModified;
  return true;
}

export function mapNetworkError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as { code?: unknown; name?: string };
  // DOM exceptions carry a numeric code; only Node's and undici's string codes say anything here.
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (e.name === 'AbortError' || code === 'UND_ERR_ABORTED') return new FerryError('cancelled');
  if (e instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') return new FerryError('connect_timeout');
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new FerryError('upstream_timeout', 'the server did not send its headers in time');
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new FerryError('connect_failed', `the server could not be reached (${code})`);
  if (code === 'UND_ERR_HEADERS_OVERFLOW') return new FerryError('upstream_error', 'the server sent headers that are too large');
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return new FerryError('truncated');
  if (code?.startsWith('HPE_')) return new FerryError('upstream_error', 'the server sent a malformed HTTP response');
  return new FerryError('upstream_error', `the connection to the server failed${code ? ` (${code})` : ''}`);
}

export function createUpstream(dispatcher: Dispatcher, policy: DestinationPolicy): OpenUpstream {
  return async function openUpstream(req) {
    const ranged = req.offset > 0 || req.end !== undefined;
    let url = checkUrl(req.url, policy);
    let method: Method = req.method;
    let body = req.body;
    let headers: Record<string, string> = { ...req.headers, 'accept-encoding': 'identity' };
    if (ranged) headers.range = `bytes=${req.offset}-${req.end ?? ''}`;
    if (ranged && req.validator) {
      const ifRange = req.validator.etag ?? req.validator.lastModified;
      if (ifRange) headers['if-range'] = ifRange;
    }

    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { dispatcher, method, headers, body, signal: req.signal, highWaterMark: BODY_BUFFER_BYTES });
      } catch (err) {
        throw mapNetworkError(err);
      }
      const h = res.headers;
      if (REDIRECTS.has(res.statusCode) && header(h, 'location')) {
        discard(res.body);
        if (hop >= MAX_REDIRECTS) throw new FerryError('too_many_redirects', `the server redirected more than ${MAX_REDIRECTS} times`);
        const next = checkUrl(new URL(header(h, 'location')!, url).href, policy);
        if (next.origin !== url.origin) {
          // Credentials meant for one origin are never handed to another.
          const { authorization: _a, ...rest } = headers;
          headers = rest;
        }
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          const { 'content-type': _c, ...rest } = headers;
          headers = rest;
        }
        url = next;
        continue;
      }
      try {
        return { meta: describe(res, url, req, ranged), body: coalescingReader(res.body), destroy: () => discard(res.body) };
      } catch (err) {
        discard(res.body);
        throw err;
      }
    }
  };
}

/**
 * Reads whatever the body has buffered in one piece, so the relay sends a few large frames rather than many
 * 64 KiB ones (each frame costs the reader an event). Reading nothing leaves the origin paused.
 */
function coalescingReader(body: Readable): AsyncIterator<Uint8Array> {
  let failure: Error | null = null;
  let ended = false;
  let wake: (() => void) | null = null;
  const poke = (): void => wake?.();
  body.on('readable', poke);
  body.on('end', () => {
    ended = true;
    poke();
  });
  body.on('error', (err) => {
    failure = err;
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

/** A 206's Content-Range must be the range asked for, and agree with its own Content-Length. */
function partial(h: Headers, req: UpstreamRequest, base: Omit<ResponseMeta, 'total' | 'ranges' | 'offset' | 'length'>): ResponseMeta {
  const m = CONTENT_RANGE.exec(header(h, 'content-range') ?? '');
  if (!m) throw new FerryError('upstream_error', 'the server answered 206 without a valid Content-Range');
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  const contentLength = header(h, 'content-length');
  const disagrees =
    first !== req.offset ||
    last < first ||
    (req.end !== undefined && last > req.end) ||
    (total !== null && last >= total) ||
    (contentLength !== null && Number(contentLength) !== last - first + 1);
  if (disagrees) {
    throw new FerryError('upstream_error', `the server answered bytes ${first}-${last}/${m[3]} (length ${contentLength ?? 'unknown'}) to a request for ${req.offset}-${req.end ?? ''}`);
  }
  return { ...base, total, ranges: true, offset: first, length: last - first + 1 };
}

function describe(res: Dispatcher.ResponseData, url: URL, req: UpstreamRequest, ranged: boolean): ResponseMeta {
  const h = res.headers;
  const status = res.statusCode;
  const validator = strongValidator(h);
  const contentLength = header(h, 'content-length');
  const base = {
    status,
    type: header(h, 'content-type'),
    validator,
    url: url.href,
    disposition: header(h, 'content-disposition'),
  };
  if (status === 416) {
    const total = /^bytes \*\/(\d+)$/.exec(header(h, 'content-range') ?? '')?.[1];
    throw new FerryError('upstream_status', `the server cannot serve from byte ${req.offset}${total ? ` of a ${total}-byte file` : ''} (416)`, status);
  }
  if (status >= 400 || status < 200 || (status >= 300 && status !== 304)) {
    throw new FerryError('upstream_status', `the server answered ${status}`, status);
  }
  if (req.validator && !sameVersion(req.validator, validator) && (status === 206 || req.offset === 0)) {
    throw new FerryError('source_changed');
  }
  if (status === 206) return partial(h, req, base);
  if (ranged && req.offset > 0) {
    // A 200 to a range request is the whole file: with If-Range and another version, the file changed;
    // otherwise the server ignored the range.
    throw req.validator && !sameVersion(req.validator, validator) ? new FerryError('source_changed') : new FerryError('range_ignored');
  }
  const total = contentLength === null ? null : Number(contentLength);
  const ranges = header(h, 'accept-ranges')?.toLowerCase() === 'bytes';
  const length = req.method === 'HEAD' ? 0 : total;
  return { ...base, total, ranges, offset: 0, length };
}
