/**
 * The tickets a socket follows: asking for one (`save` for the download manager, `play` for the page's media
 * element), following one again after a reconnect (`watch`), and passing on the progress their HTTP requests
 * make on this relay.
 */
import { FerryError } from '../../protocol/codes.js';
import type { RelayMessage } from '../../protocol/frames.js';
import { redact, type Logger } from './log.js';
import type { Downloads } from './downloads.js';
import { pathOf } from './save-endpoint.js';
import type { TicketClaims, TicketUse } from './ticket.js';
import { asFerryError } from './upstream.js';

export interface DownloadFollowSocket {
  send(message: RelayMessage): void;
  sendError(err: FerryError, id: number): void;
  /** Whether the id is free for a new save or watch; answers the client when not. */
  canUse(id: number): boolean;
  isClosed(): boolean;
}

export class DownloadFollows {
  /** Client id → its ticket's id ('' until issued), and how to stop following. */
  private readonly follows = new Map<number, { download: string; unwatch: () => void }>();

  constructor(
    private readonly socket: DownloadFollowSocket,
    private readonly downloads: Downloads,
    private readonly log: Logger,
    private readonly maxFollows: number,
    /** Aborted when the socket goes: tickets still being issued are dropped. */
    private readonly closing: AbortSignal,
  ) {}

  has(id: number): boolean {
    return this.follows.has(id);
  }

  /** Whether another may start; answers the client when not. */
  private hasRoom(id: number): boolean {
    if (!this.socket.canUse(id)) return false;
    if (this.follows.size < this.maxFollows) return true;
    this.socket.sendError(new FerryError('limit_reached', `at most ${this.maxFollows} downloads per connection`), id);
    return false;
  }

  async issue(id: number, url: string, use: TicketUse, type?: string): Promise<void> {
    if (!this.hasRoom(id)) return;
    // Counted from the moment it is asked for, so a flood of saves cannot start a flood of upstream requests.
    const pending = { download: '', unwatch: () => {} };
    this.follows.set(id, pending);
    this.log.info({ [use]: id, url: redact(url) }, use);
    try {
      const { ticket, claims } = await this.downloads.issue(url, this.closing, use, type);
      if (this.socket.isClosed() || this.follows.get(id) !== pending) return;
      this.socket.send({ t: 'ticket', id, ticket, path: `${pathOf(use)}${ticket}/${encodeURIComponent(claims.name)}`, name: claims.name, total: claims.total });
      this.follow(id, claims);
    } catch (err) {
      if (this.socket.isClosed() || this.follows.get(id) !== pending) return;
      this.follows.delete(id);
      this.socket.sendError(asFerryError(err), id);
    }
  }

  async watch(id: number, ticket: string): Promise<void> {
    if (!this.hasRoom(id)) return;
    try {
      const claims = await this.downloads.verify(ticket);
      if (!this.socket.isClosed() && !this.follows.has(id)) this.follow(id, claims);
    } catch (err) {
      this.socket.sendError(asFerryError(err), id);
    }
  }

  /** Cancels the download on this relay; cancelled before its ticket was issued, the ticket is never sent. */
  cancel(id: number): void {
    const follow = this.follows.get(id);
    if (!follow) return;
    if (follow.download === '') this.follows.delete(id);
    else this.downloads.records.cancel(follow.download);
  }

  /** Downloads belong to the browser's download manager and go on without this socket. */
  closeAll(): void {
    for (const follow of this.follows.values()) follow.unwatch();
    this.follows.clear();
  }

  private follow(id: number, claims: TicketClaims): void {
    const unwatch = this.downloads.records.watch(claims, {
      progress: (bytes, total, done, stopped, sent) => {
        this.socket.send({ t: 'progress', id, bytes, total, done, sent, ...(stopped && { stopped }) });
        if (done) this.unfollow(id);
      },
      failed: (err) => {
        this.socket.sendError(err, id);
        this.unfollow(id);
      },
    });
    this.follows.set(id, { download: claims.id, unwatch });
  }

  private unfollow(id: number): void {
    this.follows.get(id)?.unwatch();
    this.follows.delete(id);
  }
}
