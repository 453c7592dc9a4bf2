/**
 * What a relay remembers of the downloads it serves, only for the people watching them: how far each has got,
 * whether it ended, broke off or was cancelled, and who follows it. The bytes never depend on any of it.
 */
import { FerryError } from '../../protocol/codes.js';
import type { DownloadInfo } from '../../protocol/frames.js';
import { CancelledTickets } from './cancelled-tickets.js';
import type { RelayMetrics } from './metrics.js';
import type { TicketClaims } from './ticket.js';

export interface DownloadWatcher {
  /**
   * `bytes`: the furthest byte sent; `sent`: every byte sent; `stopped`: the browser's connection broke short
   * of the end and no request for the rest has come yet.
   */
  progress(bytes: number, total: number | null, done: boolean, stopped: boolean, sent: number): void;
  failed(err: FerryError): void;
}

export interface DownloadRecord {
  url: string;
  total: number | null;
  /** The furthest byte of the file sent to the browser. */
  bytes: number;
  /** Every byte sent, re-reads included. */
  sent: number;
  ended: FerryError | 'done' | null;
  /** Its last response broke off short of the end, and no request for the rest has come since. */
  stopped: boolean;
  watchers: Set<DownloadWatcher>;
  /** One per response being sent; aborting it ends that response at once. */
  responses: Set<AbortController>;
  lastReport: number;
  expires: number;
}

const REPORT_MS = 250;
/** A download whose connection broke is reported stopped if the browser has not asked for the rest by then. */
const STOPPED_AFTER_MS = 3000;

export class DownloadRecords {
  private readonly records = new Map<string, DownloadRecord>();
  private readonly cancelled: CancelledTickets;

  constructor(
    private readonly metrics: RelayMetrics,
    private readonly maxRecords: number,
    maxCancelled: number,
  ) {
    this.cancelled = new CancelledTickets(maxCancelled);
  }

  /** Why this ticket was cancelled here, or null. */
  cancellation(claims: TicketClaims): FerryError | null {
    return this.cancelled.why(claims);
  }

  watch(claims: TicketClaims, watcher: DownloadWatcher): () => void {
    const record = this.get(claims);
    record.watchers.add(watcher);
    // Where it stands now, told after the caller has had a chance to keep the returned stop function.
    queueMicrotask(() => {
      if (!record.watchers.has(watcher)) return;
      if (record.ended instanceof FerryError) watcher.failed(record.ended);
      else if (record.bytes > 0 || record.ended === 'done') watcher.progress(record.bytes, record.total, record.ended === 'done', record.stopped, record.sent);
    });
    return () => record.watchers.delete(watcher);
  }

  /** Stops the download at once, here: its upstream is aborted, and the browser's resumes are refused. */
  cancel(id: string, why = 'the download was cancelled'): void {
    const record = this.records.get(id);
    if (!record || record.ended) return;
    const err = new FerryError('cancelled', why);
    // Remembered apart from the records, for the ticket's whole life: evicting a record must not revive it.
    this.cancelled.add(id, record.expires, err);
    this.end(record, err);
  }

  /** The downloads being sent now, for the admin. */
  list(redact: (url: string) => string): DownloadInfo[] {
    return [...this.records]
      .filter(([, r]) => r.responses.size > 0)
      .map(([download, r]) => ({ download, url: redact(r.url), bytes: r.bytes, total: r.total, requests: r.responses.size }));
  }

  /** A response sent `chunk` bytes, up to byte `reached` of the file. */
  advance(record: DownloadRecord, reached: number, chunk: number): void {
    record.bytes = Math.max(record.bytes, reached);
    record.sent += chunk;
    if (Date.now() - record.lastReport >= REPORT_MS) this.report(record);
  }

  /** Tells the watchers where the download stands now. */
  report(record: DownloadRecord): void {
    record.lastReport = Date.now();
    for (const w of record.watchers) w.progress(record.bytes, record.total, false, false, record.sent);
  }

  /**
   * A response that broke off short of the end: the browser usually asks for the rest at once. If it has
   * not by `STOPPED_AFTER_MS`, the watchers hear that the download stopped, so the page can say how to resume.
   */
  reportIfStopped(record: DownloadRecord): void {
    setTimeout(() => {
      if (record.ended || record.responses.size > 0) return;
      record.stopped = true;
      for (const w of record.watchers) w.progress(record.bytes, record.total, false, true, record.sent);
    }, STOPPED_AFTER_MS);
  }

  end(record: DownloadRecord, how: FerryError | 'done'): void {
    record.ended = how;
    if (how instanceof FerryError) {
      this.metrics.error(how.code);
      for (const stop of record.responses) stop.abort(how);
    }
    for (const w of record.watchers) {
      if (how === 'done') w.progress(record.total ?? record.bytes, record.total, true, false, record.sent);
      else w.failed(how);
    }
  }

  /** The record of this ticket's download, made on first sight; the oldest and expired are forgotten. */
  get(claims: TicketClaims): DownloadRecord {
    let record = this.records.get(claims.id);
    if (record) return record;
    const now = Date.now();
    for (const [id, r] of this.records) {
      if (r.expires > now && this.records.size < this.maxRecords) break;
      this.records.delete(id);
    }
    record = { url: claims.url, total: claims.total, bytes: 0, sent: 0, ended: null, stopped: false, watchers: new Set(), responses: new Set(), lastReport: 0, expires: claims.expires };
    this.records.set(claims.id, record);
    return record;
  }
}
