/**
 * A socket the page opened before its script arrived (index.html), perhaps with the hello and a first request
 * already sent on it: a link that plays at once is asked for while the script is still on its way, and what
 * the relay answers waits in `received` until the script takes the socket over.
 */
import type { WebSocketLike } from './socket.js';

export interface EarlyStart {
  socket: WebSocketLike;
  /** Messages that arrived before the script took the socket over, in order. */
  received: unknown[];
  /** The hello and an index stream with id 1 went out: for this URL, with this much credit. */
  opened: { url: string; credit: number } | null;
}

/** The request the inline script sends: an index stream, as the player's first request is, with this id and credit. */
export const EARLY_OPEN_ID = 1;
export const EARLY_OPEN_CREDIT = 2 * 1024 * 1024;

/** Whether a request is the one the inline script already sent. */
export function isEarlyOpen(early: EarlyStart['opened'], request: { url: string; index?: string; offset?: number }): boolean {
  return early !== null && request.url === early.url && request.index === 'mp4' && !request.offset;
}
