/**
 * One download saved by the browser's download manager: the relay signs a ticket for the file, the manager
 * fetches it over HTTP (and resumes it itself), and this follows its progress over the connection.
 */
import { FerryError } from '../protocol/codes.js';
import type { CancelMessage, ProgressMessage, SaveMessage, TicketMessage, WatchMessage } from '../protocol/frames.js';

export interface DownloadHost {
  send(message: CancelMessage): void;
  forget(download: Download): void;
}

export interface DownloadEvents {
  /** The relay issued the ticket: point the download manager at `path`. */
  ticket?(ticket: TicketMessage): void;
  /** `stopped`: the download manager's connection broke short of the end and it has not asked for the rest. */
  progress?(bytes: number, total: number | null, done: boolean, stopped: boolean): void;
  error?(err: FerryError): void;
}

export class Download {
  ticket: TicketMessage | null = null;
  live = true;
  events: DownloadEvents = {};

  constructor(
    readonly id: number,
    readonly url: string,
    private readonly host: DownloadHost,
  ) {}

  /** What to send when the socket (re)opens: a ticket request, or, once there is one, a request to follow it. */
  openMessage(): SaveMessage | WatchMessage {
    return this.ticket ? { t: 'watch', id: this.id, ticket: this.ticket.ticket } : { t: 'save', id: this.id, url: this.url };
  }

  /** Stops the download on the relay at once; the browser's download fails. */
  cancel(): void {
    if (!this.live) return;
    this.host.send({ t: 'cancel', id: this.id });
    this.fail(new FerryError('cancelled', 'the download was cancelled'));
  }

  /** True once the relay has answered (with the ticket). */
  get answered(): boolean {
    return this.ticket !== null;
  }

  onTicket(m: TicketMessage): void {
    if (!this.live || this.ticket) return;
    this.ticket = m;
    this.events.ticket?.(m);
  }

  onProgress(m: ProgressMessage): void {
    if (!this.live) return;
    this.events.progress?.(m.bytes, m.total, m.done, m.stopped === true);
    if (m.done) this.end();
  }

  fail(err: FerryError): void {
    if (!this.live) return;
    this.end();
    this.events.error?.(err);
  }

  private end(): void {
    this.live = false;
    this.host.forget(this);
  }
}
