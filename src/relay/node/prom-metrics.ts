import { Counter, Gauge, Registry } from 'prom-client';
import type { ErrorCode } from '../../protocol/codes.js';
import type { RelayMetrics } from '../core/metrics.js';

/** The relay's counters as Prometheus metrics; one registry per relay, so tests can run several in one process. */
export class PromMetrics implements RelayMetrics {
  readonly registry = new Registry();
  readonly sockets = new Gauge({ name: 'ferry_sockets', help: 'Open WebSocket connections', registers: [this.registry] });
  readonly streams = new Gauge({ name: 'ferry_streams', help: 'Streams being relayed', registers: [this.registry] });
  readonly streamsOpened = new Counter({ name: 'ferry_streams_opened_total', help: 'Streams opened', registers: [this.registry] });
  readonly streamsParked = new Counter({ name: 'ferry_streams_parked_total', help: 'Streams that gave their upstream back after going without credit', registers: [this.registry] });
  readonly downloads = new Gauge({ name: 'ferry_downloads', help: 'Downloads being sent over HTTP to download managers', registers: [this.registry] });
  readonly bytes = new Counter({ name: 'ferry_bytes_relayed_total', help: 'Payload bytes sent to clients, over sockets and downloads', registers: [this.registry] });
  readonly errors = new Counter({ name: 'ferry_errors_total', help: 'Errors sent to clients, by code', labelNames: ['code'], registers: [this.registry] });
  readonly dials = new Counter({ name: 'ferry_upstream_connects_total', help: 'TCP connections attempted upstream', registers: [this.registry] });
  readonly authFailures = new Counter({ name: 'ferry_auth_failures_total', help: 'Failed password attempts', registers: [this.registry] });
  readonly socketsRefused = new Counter({ name: 'ferry_sockets_refused_total', help: 'WebSocket upgrades refused, by reason (foreign site, relay full, address full)', labelNames: ['reason'], registers: [this.registry] });
  readonly socketsClosed = new Counter({ name: 'ferry_sockets_closed_total', help: 'Sockets closed by the relay, by reason', labelNames: ['reason'], registers: [this.registry] });

  error(code: ErrorCode): void {
    this.errors.inc({ code });
  }
}
