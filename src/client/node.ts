/** Node edge of the client: the `ws` package stands in for the browser's WebSocket. */
import WebSocket from 'ws';
import type { SocketFactory, WebSocketLike } from './socket.js';

export const nodeSocket: SocketFactory = (url) =>
  new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }) as unknown as WebSocketLike;
