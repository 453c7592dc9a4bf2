/**
 * The few Workers runtime types the edge uses (workerd's own, not in the Web standard lib): a WebSocketPair,
 * a server-side socket that is accepted, and a Response that hands the client its end.
 */
interface WorkersWebSocket extends EventTarget {
  accept(): void;
  send(message: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

declare class WebSocketPair {
  0: WorkersWebSocket;
  1: WorkersWebSocket;
}

interface ResponseInit {
  webSocket?: WorkersWebSocket;
}
