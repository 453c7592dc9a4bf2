/**
 * Where an HTTP/1.1 response body ends (RFC 9112 §6): after Content-Length bytes, at the last chunk of a
 * chunked body, or when the server closes. Chunk data is handed on as views of the bytes read, never copied.
 */
import { FerryError } from '../../../protocol/codes.js';
import { contentLength, type ResponseHead } from './response-head.js';

/** A chunk-size line or a trailer field longer than this is refused. */
const MAX_LINE_BYTES = 8 * 1024;

const malformed = (why: string): FerryError => new FerryError('upstream_error', `the server sent a malformed HTTP response (${why})`);

type ChunkedState = 'size' | 'data' | 'data-end' | 'trailer';

export class BodyFraming {
  /** True once the body is complete; bytes after it are not this response's. */
  done = false;
  private remaining: number;
  private readonly chunked: boolean;
  private readonly untilClose: boolean;
  private state: ChunkedState = 'size';
  private line = '';

  /** `bodyless`: the answer to a HEAD, or a 204 or 304, which never carry a body whatever they announce. */
  constructor(head: ResponseHead, bodyless: boolean) {
    const codings = head.fields.get('transfer-encoding')?.toLowerCase();
    this.chunked = !bodyless && codings !== undefined && codings.split(',').at(-1)!.trim() === 'chunked';
    const length = bodyless ? 0 : codings !== undefined ? null : contentLength(head);
    this.untilClose = !bodyless && !this.chunked && length === null;
    this.remaining = length ?? 0;
    this.done = bodyless || length === 0;
  }

  /** Whether the connection can carry another request once the body is done. */
  get delimited(): boolean {
    return !this.untilClose;
  }

  /** Hands each piece of body in `bytes` to `take`; returns how many bytes belonged to the body. */
  read(bytes: Buffer, take: (body: Buffer) => void): number {
    if (this.untilClose) {
      take(bytes);
      return bytes.byteLength;
    }
    if (!this.chunked) {
      const n = Math.min(this.remaining, bytes.byteLength);
      if (n > 0) take(n === bytes.byteLength ? bytes : bytes.subarray(0, n));
      this.remaining -= n;
      this.done = this.remaining === 0;
      return n;
    }
    return this.readChunked(bytes, take);
  }

  /** The server closed the connection: the end of an unframed body, or a truncation of a framed one. */
  closed(): FerryError | null {
    if (this.untilClose || this.done) {
      this.done = true;
      return null;
    }
    return this.chunked ? new FerryError('truncated', 'the server closed the connection in the middle of a chunked body') : new FerryError('truncated');
  }

  private readChunked(bytes: Buffer, take: (body: Buffer) => void): number {
    let at = 0;
    while (at < bytes.byteLength && !this.done) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, bytes.byteLength - at);
        take(bytes.subarray(at, at + n));
        at += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      const lf = bytes.indexOf(0x0a, at);
      const end = lf < 0 ? bytes.byteLength : lf + 1;
      this.line += bytes.toString('latin1', at, end);
      at = end;
      if (this.line.length > MAX_LINE_BYTES) throw malformed('chunk line too long');
      if (lf >= 0) this.endOfLine(this.line.replace(/\r?\n$/, ''));
    }
    return at;
  }

  private endOfLine(line: string): void {
    this.line = '';
    if (this.state === 'data-end') {
      if (line !== '') throw malformed('chunk not followed by CRLF');
      this.state = 'size';
    } else if (this.state === 'size') {
      const size = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
      if (!size) throw malformed('chunk size');
      this.remaining = parseInt(size[1]!, 16);
      this.state = this.remaining === 0 ? 'trailer' : 'data';
    } else if (line === '') {
      // The empty line after the trailer fields ends the body.
      this.done = true;
    }
  }
}
