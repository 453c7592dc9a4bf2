/** How `/save/` answers in HTTP terms: statuses for failures, the Range header it accepts, the file name. */
import { FerryError } from '../../protocol/codes.js';
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

/** Headers of a short answer in words: never cached. */
export const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } as const;

export function failure(err: FerryError, total: number | null = null): DownloadReply {
  // A range past the end stays a 416, so the browser knows it asked for too much.
  const status = err.status === 416 ? 416 : (STATUS[err.code] ?? 502);
  const headers: Record<string, string> = { ...TEXT_HEADERS };
  if (status === 416 && total !== null) headers['content-range'] = `bytes */${total}`;
  return { status, headers, body: null, text: `${err.message}\n` };
}

/**
 * The headers of a download's answer: the origin's validators and ranges (so the browser resumes with
 * If-Range), the length of what follows, and a name; nothing a page could sniff or cache.
 */
export function replyHeaders(meta: ResponseMeta, name: string, method: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-disposition': disposition(name),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  };
  if (meta.ranges) headers['accept-ranges'] = 'bytes';
  if (meta.validator?.etag) headers.etag = meta.validator.etag;
  if (meta.validator?.lastModified) headers['last-modified'] = meta.validator.lastModified;
  if (meta.length !== null && method !== 'HEAD') headers['content-length'] = String(meta.length);
  if (meta.status === 206 && meta.length !== null) headers['content-range'] = `bytes ${meta.offset}-${meta.offset + meta.length - 1}/${meta.total ?? '*'}`;
  return headers;
}

/** An ASCII fallback for old clients, and the exact name in RFC 5987 form. */
function disposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
