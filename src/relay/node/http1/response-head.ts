/**
 * An HTTP/1.x response's status line and header fields, read from the bytes an origin sent (RFC 9112 §4, §5).
 * Strict where leniency lets a body be read wrongly: obs-fold, a space before the colon, and Content-Length
 * values that disagree are refused rather than guessed at.
 */
import { FerryError } from '../../../protocol/codes.js';

/** Headers past this size are refused, as undici and nginx refuse them. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface ResponseHead {
  status: number;
  /** HTTP/1.1 or later: persistent unless it says `close`. */
  http11: boolean;
  /** Field names in lower case; repeated fields joined with ", ". */
  fields: Map<string, string>;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
const END = Buffer.from('\r\n\r\n');

const malformed = (why: string): FerryError => new FerryError('upstream_error', `the server sent a malformed HTTP response (${why})`);

/** The head at the start of `bytes` and where the body begins, or null when more bytes are needed. */
export function readResponseHead(bytes: Buffer): { head: ResponseHead; bodyStart: number } | null {
  const end = bytes.indexOf(END);
  if (end < 0) {
    if (bytes.byteLength > MAX_HEAD_BYTES) throw new FerryError('upstream_error', 'the server sent headers that are too large');
    return null;
  }
  if (end > MAX_HEAD_BYTES) throw new FerryError('upstream_error', 'the server sent headers that are too large');
  const [statusLine, ...lines] = bytes.toString('latin1', 0, end).split('\r\n');
  const status = STATUS_LINE.exec(statusLine!);
  if (!status) throw malformed('status line');
  const fields = new Map<string, string>();
  for (const line of lines) {
    const field = FIELD.exec(line);
    if (!field || /[\0\r\n]/.test(field[2]!)) throw malformed('header field');
    const name = field[1]!.toLowerCase();
    const before = fields.get(name);
    fields.set(name, before === undefined ? field[2]! : `${before}, ${field[2]!}`);
  }
  return { head: { status: Number(status[2]), http11: status[1] === '1', fields }, bodyStart: end + END.byteLength };
}

/** The one Content-Length a head gives, or null; a list of differing values is refused (RFC 9112 §6.3). */
export function contentLength(head: ResponseHead): number | null {
  const value = head.fields.get('content-length');
  if (value === undefined) return null;
  const values = new Set(value.split(',').map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(only!)) throw malformed('Content-Length');
  return Number(only);
}

/** Whether the connection may carry another request after this response's body. */
export function keepsAlive(head: ResponseHead): boolean {
  const connection = head.fields.get('connection')?.toLowerCase().split(',').map((t) => t.trim()) ?? [];
  return head.http11 ? !connection.includes('close') : connection.includes('keep-alive');
}
