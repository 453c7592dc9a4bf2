/**
 * A socket the page opened before its script arrived (index.html), perhaps with the hello and the first
 * request already sent on it: a link that plays at once asks for its index stream as the socket opens, with
 * the media at the first mdat, which the relay opens itself once it knows where that is, while the script is
 * still on its way. What the relay answers waits in `received` until the script's Connection takes the socket
 * over; each request sent becomes a transfer, handed to whoever then asks for the same thing.
 */
import type { Validator } from '../protocol/frames.js';
import type { WebSocketLike } from './socket.js';

/** A request the inline lines sent: an open message's fields, with its credit. */
export interface EarlyRequest {
  id: number;
  url: string;
  index?: 'mp4';
  offset?: number;
  validator?: Validator;
  credit: number;
  /** The media at the first mdat, which the relay opens itself for an index stream. */
  media?: { id: number; credit: number };
}

export interface EarlyStart {
  socket: WebSocketLike;
  /** Messages that arrived before the script took the socket over, in order. */
  received: unknown[];
  /** Requests sent after a hello (none: no hello was sent either). */
  sent: EarlyRequest[];
}

/** The credits the inline lines grant the index stream and the prefetch: those the player grants the same requests (player.ts). */
export const START_CREDIT = { index: 2 * 1024 * 1024, prefetch: 512 * 1024 };

/** Whether two requests ask for the same bytes: the same URL, index or not, from the same offset. */
export function sameRequest(a: { url: string; index?: string; offset?: number }, b: { url: string; index?: string; offset?: number }): boolean {
  return a.url === b.url && (a.index ?? null) === (b.index ?? null) && (a.offset ?? 0) === (b.offset ?? 0);
}
