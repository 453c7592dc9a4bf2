/**
 * What the relay asks of an origin and what it accepts back, without any transport: the request's headers,
 * redirects hop by hop, and the checks that what came back is the range asked for, of the version asked for.
 * Never passes off a 200 as a continuation. Each edge sends the requests through `hopByHop`: node/upstream.ts
 * with the relay's HTTP/1.1 client, workers/upstream.ts with fetch.
 */
import { FerryError } from '../../protocol/codes.js';
import type { MetaMessage, Validator } from '../../protocol/frames.js';
import type { Method } from '../../protocol/limits.js';
import { sameVersion, strongValidator } from '../../protocol/versions.js';
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
  /** Throws only FerryErrors. */
  body: AsyncIterator<Uint8Array>;
  /** Aborts the upstream connection at once. */
  destroy(): void;
  /**
   * Where the credit of the stream's open ends, in the body's offsets, once known: an index stream's head
   * (docs/protocol.md). The stream gives this upstream back there and goes on only against later credit.
   */
  creditEnd?: () => number | null;
}

/** Opens an upstream request; rejects only with FerryErrors. */
export type OpenUpstream = (req: UpstreamRequest) => Promise<UpstreamResponse>;

/** One request on the way to the origin: where, and with what. */
export interface Hop {
  url: URL;
  method: Method;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

/** A header of the answer, or null. */
export type HeaderOf = (name: string) => string | null;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

/** One request as an edge sent it: the answer's status and headers, and its body, to relay or to drop. */
export interface SentHop {
  status: number;
  header: HeaderOf;
  /** The body as the core reads it (throwing only FerryErrors), with a way to abort it. */
  relay(): Pick<UpstreamResponse, 'body' | 'destroy'>;
  /** Drops the body and its connection. */
  discard(): void;
}

/**
 * An upstream on an edge's transport: the request sent hop by hop, each redirect checked like the first URL
 * (the transport never follows one itself), the final answer checked and described. `send` rejects only
 * with FerryErrors.
 */
export function hopByHop(send: (hop: Hop, signal: AbortSignal) => Promise<SentHop>, policy: DestinationPolicy): OpenUpstream {
  return async function openUpstream(req) {
    let hop = firstHop(req, policy);
    for (let hops = 0; ; hops++) {
      const res = await send(hop, req.signal);
      try {
        const next = nextHop(hop, hops, res.status, res.header('location'), policy);
        if (next) {
          res.discard();
          hop = next;
          continue;
        }
        return { meta: describeResponse(res.status, res.header, hop.url, req), ...res.relay() };
      } catch (err) {
        res.discard();
        throw err;
      }
    }
  };
}

/** The first request: identity encoding always (or offsets would not match), Range and If-Range when resuming. */
function firstHop(req: UpstreamRequest, policy: DestinationPolicy): Hop {
  const headers: Record<string, string> = { ...req.headers, 'accept-encoding': 'identity' };
  if (isRanged(req)) {
    headers.range = `bytes=${req.offset}-${req.end ?? ''}`;
    const ifRange = req.validator?.etag ?? req.validator?.lastModified;
    if (ifRange) headers['if-range'] = ifRange;
  }
  return { url: checkUrl(req.url, policy), method: req.method, headers, body: req.body };
}

/** The next hop of a redirect, checked like the first URL; null when the answer is no redirect. */
function nextHop(hop: Hop, hops: number, status: number, location: string | null, policy: DestinationPolicy): Hop | null {
  if (!REDIRECTS.has(status) || !location) return null;
  if (hops >= MAX_REDIRECTS) throw new FerryError('too_many_redirects', `the server redirected more than ${MAX_REDIRECTS} times`);
  const url = checkUrl(new URL(location, hop.url).href, policy);
  let { method, headers, body } = hop;
  if (url.origin !== hop.url.origin) {
    // Credentials meant for one origin are never handed to another.
    const { authorization: _a, ...rest } = headers;
    headers = rest;
  }
  if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    const { 'content-type': _c, ...rest } = headers;
    headers = rest;
  }
  return { url, method, headers, body };
}

/** Why an error ends a stream, in the relay's terms; transports map their own errors before this. */
export function asFerryError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  if ((err as { name?: string }).name === 'AbortError') return new FerryError('cancelled');
  return new FerryError('upstream_error');
}

/** Checks an origin's final answer against the request, and describes it; throws a FerryError when it does not do. */
export function describeResponse(status: number, header: HeaderOf, url: URL, req: UpstreamRequest): ResponseMeta {
  const validator = strongValidator(header);
  const base = { status, type: header('content-type'), validator, url: url.href, disposition: header('content-disposition') };
  if (status === 416) {
    const total = /^bytes \*\/(\d+)$/.exec(header('content-range') ?? '')?.[1];
    throw new FerryError('upstream_status', `the server cannot serve from byte ${req.offset}${total ? ` of a ${total}-byte file` : ''} (416)`, status);
  }
  if (status >= 400 || status < 200 || (status >= 300 && status !== 304)) {
    throw new FerryError('upstream_status', `the server answered ${status}`, status);
  }
  if (req.validator && !sameVersion(req.validator, validator) && (status === 206 || req.offset === 0)) {
    throw new FerryError('source_changed');
  }
  if (status === 206) return partial(header, req, base);
  if (isRanged(req) && req.offset > 0) {
    // A 200 to a range request is the whole file: with If-Range and another version, the file changed;
    // otherwise the server ignored the range.
    throw req.validator && !sameVersion(req.validator, validator) ? new FerryError('source_changed') : new FerryError('range_ignored');
  }
  const contentLength = header('content-length');
  const total = contentLength === null ? null : Number(contentLength);
  const ranges = header('accept-ranges')?.toLowerCase() === 'bytes';
  return { ...base, total, ranges, offset: 0, length: req.method === 'HEAD' ? 0 : total };
}

const isRanged = (req: UpstreamRequest): boolean => req.offset > 0 || req.end !== undefined;

/** A 206's Content-Range must be the range asked for, and agree with its own Content-Length. */
function partial(header: HeaderOf, req: UpstreamRequest, base: Omit<ResponseMeta, 'total' | 'ranges' | 'offset' | 'length'>): ResponseMeta {
  const m = CONTENT_RANGE.exec(header('content-range') ?? '');
  if (!m) throw new FerryError('upstream_error', 'the server answered 206 without a valid Content-Range');
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  const contentLength = header('content-length');
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

