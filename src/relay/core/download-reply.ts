/** How `/save/` and `/media/` answer in HTTP terms: statuses for failures, the Range header it accepts, the file name. */
import { FerryError } from '../../protocol/codes.js';
import type { TicketClaims } from './ticket.js';
import type { ResponseMeta } from './upstream.js';

/** What the HTTP edge sends: a status, headers, and either a body to stream or a short text. */
export interface DownloadReply {
  status: number;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array> | null;
  text: string;
}

/** Where each failure leaves the browser: 412 and 416 make it drop what it has instead of splicing. */
const STATUS: Partial<Record<FerryError['code'], number>> = {
  ticket_invalid: 403,
  cancelled: 410,
  source_changed: 412,
  range_ignored: 416,
  blocked: 403,
  invalid_url: 400,
  limit_reached: 429,
};

/** Offsets past 2^53 cannot be told apart in JavaScript; no real file is that large. */
const RANGE = /^bytes=(\d{1,15})-(\d{0,15})$/;

/**
 * The one range a download manager asks for, checked before anything is fetched: a malformed or backward
 * range (`bytes=5-3`, a 30-digit offset) is a 416 for this request, never a reason to give up on the ticket.
 */
export function parseRange(header: string | null, total: number | null): { offset: number; end: number | undefined } | FerryError {
  if (header === null) return { offset: 0, end: undefined };
  const m = RANGE.exec(header.trim());
  const offset = Number(m?.[1]);
  const end = m?.[2] ? Number(m[2]) : undefined;
  if (!m || (end !== undefined && end < offset) || (total !== null && offset >= total)) {
    return new FerryError('upstream_status', `this download cannot serve the range ${header.slice(0, 60)}`, 416);
  }
  return { offset, end };
}

/**
 * On every answer of the relay's in words, and of its ticket paths (refusals too): nothing a page could run,
 * sniff or cache. Opened on its own as a page, such an answer can run nothing and reach nothing.
 */
const INERT_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
} as const;

/** Headers of a short answer in words. */
export const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', ...INERT_HEADERS } as const;

export function failure(err: FerryError, total: number | null = null): DownloadReply {
  // A range past the end stays a 416, so the browser knows it asked for too much.
  const status = err.status === 416 ? 416 : (STATUS[err.code] ?? 502);
  const headers: Record<string, string> = { ...TEXT_HEADERS };
  if (status === 416 && total !== null) headers['content-range'] = `bytes */${total}`;
  // A download manager that opened one range too many tries again after this, rather than giving up on it.
  if (status === 429) headers['retry-after'] = '1';
  return { status, headers, body: null, text: `${err.message}\n` };
}

/** Media types a play ticket may serve: audio, video and their containers, with no parameters but codecs. */
const MEDIA_TYPE = /^(?:(?:audio|video)\/[a-z0-9][a-z0-9.+-]{0,60}|application\/(?:ogg|mp4))$/;

/**
 * The type a play ticket serves: the page's finding, else the origin's, when either is a media type;
 * otherwise an opaque one. Never the origin's text/html or the like, which would run as the relay's own page.
 */
export function mediaType(...candidates: (string | null | undefined)[]): string {
  for (const c of candidates) {
    const essence = c?.split(';')[0]!.trim().toLowerCase();
    if (essence && MEDIA_TYPE.test(essence)) return essence;
  }
  return 'application/octet-stream';
}

/**
 * The headers of a ticket's answer: the origin's validators and ranges (so the browser resumes with
 * If-Range), the length of what follows, and a name; nothing a page could run, sniff or cache. A save
 * ticket's file is an attachment of no particular type; a play ticket's is inline, of a media type.
 */
export function replyHeaders(meta: ResponseMeta, claims: Pick<TicketClaims, 'name' | 'use' | 'type'>, method: string): Record<string, string> {
  const play = claims.use === 'play';
  const headers: Record<string, string> = {
    'content-type': play ? claims.type : 'application/octet-stream',
    'content-disposition': disposition(play ? 'inline' : 'attachment', claims.name),
    ...INERT_HEADERS,
  };
  if (meta.ranges) headers['accept-ranges'] = 'bytes';
  if (meta.validator?.etag) headers.etag = meta.validator.etag;
  if (meta.validator?.lastModified) headers['last-modified'] = meta.validator.lastModified;
  // A HEAD's answer tells the length a GET would send (`curl -I` shows the size); its own body is none.
  const length = method === 'HEAD' && meta.status !== 206 ? meta.total : meta.length;
  if (length !== null) headers['content-length'] = String(length);
  if (meta.status === 206 && meta.length !== null) headers['content-range'] = `bytes ${meta.offset}-${meta.offset + meta.length - 1}/${meta.total ?? '*'}`;
  return headers;
}

/** An ASCII fallback for old clients, and the exact name in RFC 5987 form. */
function disposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
