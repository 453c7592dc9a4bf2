/** Control messages from text: a client's, checked field by field (it may be anyone), and the relay's. */
import { FerryError, isErrorCode } from './codes.js';
import type { ClientMessage, ErrorMessage, OpenMessage, RelayMessage, Validator } from './frames.js';
import { TWO_32 } from './frames.js';
import { MAX_CONTROL_BYTES, MAX_REQUEST_BODY_BYTES, METHODS, SAFE_REQUEST_HEADERS, type Method } from './limits.js';

const base64Bytes = (text: string): number => Math.floor((text.length * 3) / 4) - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStreamId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < TWO_32;
const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const optional = <T>(v: unknown, check: (v: unknown) => v is T): v is T | undefined => v === undefined || check(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isShortString = (v: unknown): v is string => isString(v) && v.length <= 4096;

function fail(why: string): never {
  throw new FerryError('bad_request', why);
}

/** A client message refused by the parser, with the stream id it named (when it named a valid one). */
export class MessageRefused extends FerryError {
  constructor(
    err: FerryError,
    readonly id: number | undefined,
  ) {
    super(err.code, err.message);
  }
}

function checkValidator(v: unknown): Validator | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || !optional(v.etag, isShortString) || !optional(v.lastModified, isShortString)) fail('validator must be {etag?, lastModified?}');
  return { ...(v.etag !== undefined && { etag: v.etag }), ...(v.lastModified !== undefined && { lastModified: v.lastModified }) };
}

function checkHeaders(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) fail('headers must be an object');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(v)) {
    const lower = name.toLowerCase();
    if (!(SAFE_REQUEST_HEADERS as readonly string[]).includes(lower)) fail(`header ${name} may not be set`);
    if (!isShortString(value) || /[\r\n\0]/.test(value)) fail(`header ${name} has a bad value`);
    out[lower] = value;
  }
  return out;
}

/** An open message's request body, from its base64. */
export function decodeRequestBody(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new FerryError('bad_request', 'body is not valid base64');
  }
}

/** Parses and validates one text frame from a client. Throws FerryError with `bad_request` or `protocol_error`. */
export function parseClientMessage(text: string): ClientMessage {
  if (text.length > MAX_CONTROL_BYTES) throw new FerryError('limit_reached', 'control message too large');
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new FerryError('protocol_error', 'control message is not JSON');
  }
  if (!isObject(m)) throw new FerryError('protocol_error', 'control message is not an object');
  try {
    return parseMessage(m);
  } catch (err) {
    throw new MessageRefused(err as FerryError, m.t !== 'kill' && isStreamId(m.id) ? m.id : undefined);
  }
}

function parseMessage(m: Record<string, unknown>): ClientMessage {
  switch (m.t) {
    case 'hello':
      if (!Number.isInteger(m.v)) fail('hello needs a version');
      if (!optional(m.password, isShortString) || !optional(m.admin, isShortString) || !optional(m.key, isShortString)) fail('credentials must be strings');
      return {
        t: 'hello',
        v: m.v as number,
        ...(m.password !== undefined && { password: m.password }),
        ...(m.admin !== undefined && { admin: m.admin }),
        ...(m.key !== undefined && { key: m.key }),
      };
    case 'open':
      return parseOpen(m);
    case 'credit':
      if (!isStreamId(m.id) || !isOffset(m.bytes)) fail('credit needs a stream id and a byte count');
      return { t: 'credit', id: m.id, bytes: m.bytes };
    case 'cancel':
      if (!isStreamId(m.id)) fail('cancel needs a stream id');
      return { t: 'cancel', id: m.id };
    case 'list':
      return { t: 'list' };
    case 'marked':
      if (!Number.isSafeInteger(m.n) || (m.n as number) < 1) fail('marked needs a mark number');
      return { t: 'marked', n: m.n as number };
    case 'save':
      return { t: 'save', ...ticketRequest(m, 'save') };
    case 'play': {
      const request = ticketRequest(m, 'play');
      if (!optional(m.type, isShortString)) fail('type must be a short string');
      return { t: 'play', ...request, ...(m.type !== undefined && { type: m.type as string }) };
    }
    case 'watch':
      if (!isStreamId(m.id) || !isString(m.ticket) || m.ticket.length > 16_384) fail('watch needs an id and a ticket');
      return { t: 'watch', id: m.id, ticket: m.ticket };
    case 'kill':
      if (isShortString(m.download) && m.session === undefined) return { t: 'kill', download: m.download };
      if (!isShortString(m.session) || !isStreamId(m.id)) fail('kill needs a session and a stream id, or a download');
      return { t: 'kill', session: m.session, id: m.id };
    default:
      throw new FerryError('protocol_error', `unknown message type ${JSON.stringify(m.t)?.slice(0, 40)}`);
  }
}

/** The id and URL a ticket request (`save` or `play`) names. */
function ticketRequest(m: Record<string, unknown>, verb: 'save' | 'play'): { id: number; url: string } {
  if (!isStreamId(m.id)) fail(`${verb} needs an id`);
  if (!isString(m.url) || m.url.length > 8192) fail(`${verb} needs a url`);
  return { id: m.id, url: m.url };
}

function parseOpen(m: Record<string, unknown>): OpenMessage {
  if (!isStreamId(m.id)) fail('open needs a stream id');
  if (!isString(m.url) || m.url.length > 8192) fail('open needs a url');
  if (!optional(m.method, (x): x is Method => (METHODS as readonly unknown[]).includes(x))) fail(`method must be one of ${METHODS.join(', ')}`);
  if (!optional(m.offset, isOffset) || !optional(m.end, isOffset)) fail('offset and end must be non-negative integers');
  if (m.end !== undefined && (m.end as number) < ((m.offset as number | undefined) ?? 0)) fail('end is before offset');
  if (!isOffset(m.credit)) fail('open needs a credit');
  if (!optional(m.body, isString)) fail('body must be base64 text');
  if (m.body !== undefined && base64Bytes(m.body as string) > MAX_REQUEST_BODY_BYTES) throw new FerryError('limit_reached', `request body above ${MAX_REQUEST_BODY_BYTES} bytes`);
  if (m.body !== undefined && m.method !== 'POST') fail('only POST carries a body');
  if (m.index !== undefined && (m.index !== 'mp4' || (m.method ?? 'GET') !== 'GET' || m.end !== undefined)) fail('index must be "mp4", on a GET without an end');
  const media = checkMedia(m);
  const headers = checkHeaders(m.headers);
  const validator = checkValidator(m.validator);
  return {
    t: 'open',
    id: m.id,
    url: m.url,
    credit: m.credit,
    ...(m.method !== undefined && { method: m.method as Method }),
    ...(headers && { headers }),
    ...(m.body !== undefined && { body: m.body as string }),
    ...(m.offset !== undefined && { offset: m.offset as number }),
    ...(m.end !== undefined && { end: m.end as number }),
    ...(validator && { validator }),
    ...(m.index !== undefined && { index: 'mp4' as const }),
    ...(media && { media }),
  };
}

/** An index open's `media`: another stream's id, and its credit. */
function checkMedia(m: Record<string, unknown>): OpenMessage['media'] {
  if (m.media === undefined) return undefined;
  const media = m.media;
  if (m.index === undefined || !isObject(media) || !isStreamId(media.id) || media.id === m.id || !isOffset(media.credit)) {
    fail('media must be {id, credit}, on an index open, with an id of its own');
  }
  return { id: media.id, credit: media.credit };
}

/** Parses a text frame from the relay. The client trusts the relay's shapes but not blindly its codes. */
export function parseRelayMessage(text: string): RelayMessage {
  const m: unknown = JSON.parse(text);
  if (!isObject(m) || typeof m.t !== 'string') throw new FerryError('protocol_error', 'relay sent a malformed message');
  if (m.t === 'error' && !isErrorCode(m.code)) return { ...(m as unknown as ErrorMessage), code: 'protocol_error' };
  return m as unknown as RelayMessage;
}
