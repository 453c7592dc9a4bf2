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
import { FerryError, type ErrorCode } from './codes.js';
import type { Method } from './limits.js';

export const DATA_FRAME = 1;
export const DATA_HEADER_BYTES = 13;
export const TWO_32 = 2 ** 32;

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
  /**
   * `mp4`: if the file is an MP4, the body is its index (ftyp and moov, deflated: see MoovIndex), found by the
   * relay at the origin's distance, and `offset` counts in that body; otherwise the file's bytes as usual.
   */
  index?: 'mp4';
  /**
   * With `index`: the media at the file's first mdat, opened by the relay itself as stream `id` with this
   * credit, as soon as the index's meta says where it is (`mediaOffset`): the page need not wait for that
   * meta to ask. Its bytes follow the index's head. None is opened when `mediaOffset` is null.
   */
  media?: { id: number; credit: number };
}

/**
 * What an index stream's body holds: the file's ftyp (if any) and the head of its moov (a moov box with
 * each track's tables cut to its first seconds), as they are; then the whole moov, with each chunk-offset
 * table's entries as differences from the previous one (mp4/chunk-offsets.ts), deflated as one zlib stream (RFC 1950).
 */
export interface MoovIndex {
  encoding: 'head-delta-deflate';
  ftypSize: number;
  moovOffset: number;
  moovSize: number;
  /** Where the media of the first mdat before the moov begins (where playback from the start reads), if any. */
  mediaOffset: number | null;
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
/** The client read the relay's mark `n` (MarkMessage). */
export interface MarkedMessage { t: 'marked'; n: number }
export type ClientMessage =
  | HelloMessage | OpenMessage | CreditMessage | CancelMessage | ListMessage | KillMessage | SaveMessage | PlayMessage
  | WatchMessage | MarkedMessage;

export interface WelcomeMessage {
  t: 'welcome';
  v: number;
  role: 'user' | 'admin';
  session: string;
  limits: { streams: number; credit: number; chunk: number };
  /** On a relay with a password: a device key to send in later hellos instead of it. */
  key?: string;
  /**
   * Ms of the socket's round trip, measured by the relay with a WebSocket ping as it opened, before any data
   * (the page's own measures wait on its main thread and behind the data), when the relay has one.
   */
  rtt?: number;
  /** Codecs of sound the relay decodes for the page at `/decode/` (its `--decode-audio`), e.g. `truehd`. */
  decodes?: string[];
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
  /** On a stream opened with `index: 'mp4'`: the index the body holds, or null when the file is no MP4. */
  index?: MoovIndex | null;
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
/**
 * Sent by a relay whose socket cannot tell when bytes have left it (Workers), after every so many bytes; the
 * client answers `marked` with the same `n` as it reads it, and the relay counts what came before as gone.
 */
export interface MarkMessage { t: 'mark'; n: number }
export type RelayMessage =
  | WelcomeMessage | MetaMessage | EndMessage | ErrorMessage | TransfersMessage | TicketMessage | ProgressMessage
  | MarkMessage;

/**
 * A data frame as its two parts, header and payload, for an edge that can send one message in parts without
 * joining them (the Node relay: a WebSocket message of two fragments), sparing a copy of every payload.
 */
export function dataFrameParts(id: number, offset: number, payload: Uint8Array): [Uint8Array, Uint8Array] {
  const header = new Uint8Array(DATA_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint8(0, DATA_FRAME);
  view.setUint32(1, id);
  view.setUint32(5, Math.floor(offset / TWO_32));
  view.setUint32(9, offset % TWO_32);
  return [header, payload];
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
