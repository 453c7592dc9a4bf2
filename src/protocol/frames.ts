/**
 * The wire format. Control messages are JSON text frames; media bytes travel in binary frames:
 *
 *   byte 0      kind (1 = data)
 *   bytes 1-4   stream id, uint32 big-endian
 *   bytes 5-12  offset of the first payload byte in the resource, uint64 big-endian
 *   bytes 13-   payload
 *
 * Offsets are written as two uint32 halves with arithmetic, never bitwise operators, so files over 4 GiB work.
 */
import { FerryError, isErrorCode, type ErrorCode } from './codes.js';
import {
  MAX_CONTROL_BYTES,
  MAX_REQUEST_BODY_BYTES,
  METHODS,
  SAFE_REQUEST_HEADERS,
  type Method,
} from './limits.js';

export const DATA_FRAME = 1;
export const DATA_HEADER_BYTES = 13;
const TWO_32 = 2 ** 32;

export interface Validator {
  etag?: string;
  lastModified?: string;
}

/** `key`: the device key a relay gave in an earlier welcome; it stands in for the password. */
export interface HelloMessage { t: 'hello'; v: number; password?: string; admin?: string; key?: string }
export interface OpenMessage {
  t: 'open';
  id: number;
  url: string;
  method?: Method;
  headers?: Record<string, string>;
  /** Request body, base64. */
  body?: string;
  offset?: number;
  /** Last byte wanted, inclusive. */
  end?: number;
  /** Sent on resume: the upstream must still be this version. */
  validator?: Validator;
  credit: number;
}
export interface CreditMessage { t: 'credit'; id: number; bytes: number }
export interface CancelMessage { t: 'cancel'; id: number }
export interface ListMessage { t: 'list' }
/** Admin: cancel a socket's stream (`session` and `id`), or a download by its ticket's id (`download`). */
export type KillMessage = { t: 'kill'; session: string; id: number } | { t: 'kill'; download: string };
/** Asks for a download ticket: the browser's download manager then fetches `/save/TICKET/NAME` over HTTP. */
export interface SaveMessage { t: 'save'; id: number; url: string }
/**
 * Asks for a playback ticket: the page's own `<video>` or `<audio>` then reads `/media/TICKET/NAME` with ranges.
 * `type` is what the page found the file to be (e.g. audio/wav), served in place of a missing or wrong one.
 */
export interface PlayMessage { t: 'play'; id: number; url: string; type?: string }
/** Follows a download's progress again, after a reconnect. */
export interface WatchMessage { t: 'watch'; id: number; ticket: string }
export type ClientMessage = HelloMessage | OpenMessage | CreditMessage | CancelMessage | ListMessage | KillMessage | SaveMessage | PlayMessage | WatchMessage;

export interface WelcomeMessage {
  t: 'welcome';
  v: number;
  role: 'user' | 'admin';
  session: string;
  limits: { streams: number; credit: number; chunk: number };
  /** On a relay with a password: a device key to send in later hellos instead of it. */
  key?: string;
}
export interface MetaMessage {
  t: 'meta';
  id: number;
  status: number;
  type: string | null;
  /** Length of the whole resource, when known. */
  total: number | null;
  ranges: boolean;
  validator: Validator | null;
  url: string;
  /** Offset of the first byte that will follow. */
  offset: number;
  disposition: string | null;
}
export interface EndMessage { t: 'end'; id: number; offset: number }
export interface ErrorMessage { t: 'error'; id?: number; code: ErrorCode; message: string; status?: number }
export interface TransferInfo {
  session: string;
  id: number;
  url: string;
  offset: number;
  sent: number;
  credit: number;
}
/** A download being sent over HTTP by this relay. */
export interface DownloadInfo {
  download: string;
  url: string;
  /** The furthest byte sent so far. */
  bytes: number;
  total: number | null;
  /** Responses open for it now (a download manager uses one). */
  requests: number;
}
export interface TransfersMessage { t: 'transfers'; list: TransferInfo[]; downloads: DownloadInfo[] }
export interface TicketMessage {
  t: 'ticket';
  id: number;
  ticket: string;
  /** Where the file is fetched: /save/TICKET/NAME (to save) or /media/TICKET/NAME (to play) on this relay. */
  path: string;
  name: string;
  total: number | null;
}
/**
 * How far the download manager has got, as seen by this relay; `done` once it has the last byte; `stopped`
 * when its connection broke short of the end and it has not come back for the rest.
 */
export interface ProgressMessage {
  t: 'progress';
  id: number;
  bytes: number;
  total: number | null;
  done: boolean;
  stopped?: boolean;
  /** Every byte sent for the ticket so far, re-reads included (a player seeks back and forth). */
  sent?: number;
}
export type RelayMessage = WelcomeMessage | MetaMessage | EndMessage | ErrorMessage | TransfersMessage | TicketMessage | ProgressMessage;

export function encodeDataFrame(id: number, offset: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(DATA_HEADER_BYTES + payload.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint8(0, DATA_FRAME);
  view.setUint32(1, id);
  view.setUint32(5, Math.floor(offset / TWO_32));
  view.setUint32(9, offset % TWO_32);
  frame.set(payload, DATA_HEADER_BYTES);
  return frame;
}

export interface DataFrame { id: number; offset: number; payload: Uint8Array }

export function decodeDataFrame(frame: Uint8Array): DataFrame {
  if (frame.byteLength < DATA_HEADER_BYTES) throw new FerryError('protocol_error', 'data frame shorter than its header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint8(0) !== DATA_FRAME) throw new FerryError('protocol_error', `unknown binary frame kind ${view.getUint8(0)}`);
  return {
    id: view.getUint32(1),
    offset: view.getUint32(5) * TWO_32 + view.getUint32(9),
    payload: frame.subarray(DATA_HEADER_BYTES),
  };
}

/** The bytes a base64 text decodes to, from its length and padding. */
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
    case 'save':
      if (!isStreamId(m.id)) fail('save needs an id');
      if (!isString(m.url) || m.url.length > 8192) fail('save needs a url');
      return { t: 'save', id: m.id, url: m.url };
    case 'play':
      if (!isStreamId(m.id)) fail('play needs an id');
      if (!isString(m.url) || m.url.length > 8192) fail('play needs a url');
      if (!optional(m.type, isShortString)) fail('type must be a short string');
      return { t: 'play', id: m.id, url: m.url, ...(m.type !== undefined && { type: m.type as string }) };
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
  };
}

/** Parses a text frame from the relay. The client trusts the relay's shapes but not blindly its codes. */
export function parseRelayMessage(text: string): RelayMessage {
  const m: unknown = JSON.parse(text);
  if (!isObject(m) || typeof m.t !== 'string') throw new FerryError('protocol_error', 'relay sent a malformed message');
  if (m.t === 'error' && !isErrorCode(m.code)) return { ...(m as unknown as ErrorMessage), code: 'protocol_error' };
  return m as unknown as RelayMessage;
}
