/**
 * One file fetched over HTTP from the relay with a ticket: saved by the browser's download manager, or played
 * by the page's media element. The relay signs a ticket for the file, the browser fetches it (and resumes
 * it itself), and this follows its progress over the connection.
 */
import { FerryError } from '../protocol/codes.js';
import type { CancelMessage, PlayMessage, ProgressMessage, SaveMessage, TicketMessage, WatchMessage } from '../protocol/frames.js';

export interface DownloadHost {
  send(message: CancelMessage): void;
  forget(download: Download): void;
}

export interface DownloadEvents {
  /** The relay issued the ticket: point the download manager at `path`. */
  ticket?(ticket: TicketMessage): void;
  /**
   * `bytes`: the furthest byte sent; `stopped`: the download manager's connection broke short of the end and
   * it has not asked for the rest; `sent`: every byte sent for the ticket.
   */
  progress?(bytes: number, total: number | null, done: boolean, stopped: boolean, sent: number): void;
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
    /** For playing, with the media type the page found: then the ticket's path is /media/. */
    readonly play: { type: string | null } | null = null,
  ) {}

  /** What to send when the socket (re)opens: a ticket request, or, once there is one, a request to follow it. */
  openMessage(): SaveMessage | PlayMessage | WatchMessage {
    if (this.ticket) return { t: 'watch', id: this.id, ticket: this.ticket.ticket };
    if (!this.play) return { t: 'save', id: this.id, url: this.url };
    return { t: 'play', id: this.id, url: this.url, ...(this.play.type && { type: this.play.type }) };
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

  /** Resolves with the relay's ticket (at once if it has come), or rejects with the download's error. */
  whenTicketed(): Promise<TicketMessage> {
    if (this.ticket) return Promise.resolve(this.ticket);
    return new Promise((resolve, reject) => {
      const { ticket, error } = this.events;
      this.events.ticket = (m) => (ticket?.(m), resolve(m));
      this.events.error = (err) => (error?.(err), reject(err));
    });
  }

  onProgress(m: ProgressMessage): void {
    if (!this.live) return;
    this.events.progress?.(m.bytes, m.total, m.done, m.stopped === true, m.sent ?? m.bytes);
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
