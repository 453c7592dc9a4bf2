/**
 * What the relay counts, as the core sees it. The Node edge fills it with prom-client (prom-metrics.ts);
 * another runtime can count however it likes.
 */
import type { ErrorCode } from '../../protocol/codes.js';

export interface Gauge {
  inc(): void;
  dec(): void;
}
export interface Counter {
  inc(value?: number): void;
}
export interface ReasonCounter {
  inc(labels: { reason: string }): void;
}

export interface RelayMetrics {
  /** Open sockets. */
  sockets: Gauge;
  streams: Gauge;
  streamsOpened: Counter;
  /** Streams that gave their upstream back after going without credit. */
  streamsParked: Counter;
  /** Downloads being sent over HTTP. */
  downloads: Gauge;
  /** Payload bytes sent to clients, over sockets and downloads. */
  bytes: Counter;
  authFailures: Counter;
  socketsClosed: ReasonCounter;
  error(code: ErrorCode): void;
}
