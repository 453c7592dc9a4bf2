/**
 * Downloads the browser's own download manager fetches over plain HTTP, at `/save/TICKET/NAME`. The bytes
 * go from the origin to the browser's file without passing through any page or worker script, and the
 * download manager resumes a dropped connection itself, with Range and If-Range.
 *
 * Every request is checked against its ticket alone (stateless): the upstream must still be the version
 * the ticket was issued for, or the answer is 412 and nothing is spliced. What this relay remembers is only
 * for people watching: progress for the session that asked, and cancellations it made here.
 */
import { FerryError } from '../../protocol/codes.js';
import { suggestedName } from '../../protocol/filename.js';
import type { RelayMetrics } from './metrics.js';
import type { Logger } from './log.js';
import { DownloadRecords, type DownloadRecord } from './download-records.js';
import { RelayedBody } from './relayed-body.js';
import { failure, mediaType, parseRange, replyHeaders, type DownloadReply } from './download-reply.js';
import { TICKET_LIFETIME_MS, type TicketClaims, type TicketSealer, type TicketUse } from './ticket.js';
import type { OpenUpstream, UpstreamResponse } from './upstream.js';

/**
 * A browser's download manager reads one response at a time, a media element one or two (a seek opens the
 * next before the last is gone), a segmenting one (aria2c -x8 -s8, IDM) eight ranges at once; a ticket is
 * not a way to open the origin many times. Past this, 429 with Retry-After.
 */
const MAX_RESPONSES_PER_TICKET: Record<TicketUse, number> = { save: 8, play: 6 };

export interface DownloadsOptions {
  sealer: TicketSealer;
  openUpstream: OpenUpstream;
  metrics: RelayMetrics;
  log: Logger;
  /** An upstream that sends nothing for this long is dropped; the browser resumes. */
  idleMs: number;
  /** Downloads remembered for their watchers; the oldest is forgotten past this. */
  maxRecords?: number;
  /** Cancelled tickets remembered until they expire; past this, tickets older than the oldest forgotten are refused. */
  maxCancelled?: number;
}

export class Downloads {
  /** What this relay remembers of each download, for the people watching it. */
  readonly records: DownloadRecords;

  constructor(private readonly options: DownloadsOptions) {
    this.records = new DownloadRecords(options.metrics, options.maxRecords ?? 10_000, options.maxCancelled ?? 100_000);
  }

  /**
   * Reads the upstream's headers (one byte of it) and signs a ticket for that version of the file: to save
   * it, or to play it (`type` is what the page found it to be).
   */
  async issue(url: string, signal: AbortSignal, use: TicketUse = 'save', type?: string): Promise<{ ticket: string; claims: TicketClaims }> {
    const probe = await this.options.openUpstream({
      url,
      method: 'GET',
      headers: {},
      body: undefined,
      offset: 0,
      end: 0,
      validator: undefined,
      signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
    });
    probe.destroy();
    const { meta } = probe;
    const claims: TicketClaims = {
      id: crypto.randomUUID(),
      url,
      validator: meta.validator,
      name: suggestedName(meta.url, meta.disposition),
      total: meta.total,
      expires: Date.now() + TICKET_LIFETIME_MS[use],
      use,
      type: use === 'play' ? mediaType(type, meta.type) : 'application/octet-stream',
    };
    this.records.get(claims);
    return { ticket: await this.options.sealer.seal(claims), claims };
  }

  /** Claims of a ticket this relay can serve, for a session that wants to follow it. */
  async verify(ticket: string): Promise<TicketClaims> {
    const claims = await this.options.sealer.unseal(ticket);
    const cancelled = this.records.cancellation(claims);
    if (cancelled) throw cancelled;
    return claims;
  }

  /** Answers one request for a ticket's file, at the path of the ticket's use. */
  async serve(ticket: string, use: TicketUse, range: string | null, method: string, signal: AbortSignal): Promise<DownloadReply> {
    let claims: TicketClaims;
    try {
      claims = await this.verify(ticket);
    } catch (err) {
      return failure(err as FerryError);
    }
    if ((claims.use ?? 'save') !== use) return failure(new FerryError('ticket_invalid', `this ticket is not for ${use === 'play' ? 'playing' : 'saving'}`));
    const record = this.records.get(claims);
    if (record.ended instanceof FerryError) return failure(record.ended);
    // A download manager reads one response at a time; a ticket is not a way to open the origin many times.
    const most = MAX_RESPONSES_PER_TICKET[use];
    if (record.responses.size >= most) return failure(new FerryError('limit_reached', `at most ${most} requests at once per ticket`));
    // Counted from here, so a cancel also stops a request still waiting for the upstream's headers.
    const stop = new AbortController();
    record.responses.add(stop);
    record.stopped = false;
    let handedOver = false;
    try {
      const reply = await this.answer(claims, record, range, method, AbortSignal.any([signal, stop.signal]));
      if (reply.upstream === null) return reply;
      handedOver = true;
      return { ...reply, body: this.relayBody(record, reply.upstream, stop, use) };
    } finally {
      if (!handedOver) record.responses.delete(stop);
    }
  }

  /** The upstream's answer to the ticket's version from the requested offset, as status and headers. */
  private async answer(
    claims: TicketClaims,
    record: DownloadRecord,
    range: string | null,
    method: string,
    signal: AbortSignal,
  ): Promise<DownloadReply & { upstream: UpstreamResponse | null }> {
    const asked = parseRange(range, claims.total);
    if (asked instanceof FerryError) return { ...failure(asked, claims.total), upstream: null };
    const { offset, end } = asked;
    let upstream: UpstreamResponse;
    try {
      upstream = await this.options.openUpstream({
        url: claims.url,
        method: method === 'HEAD' ? 'HEAD' : 'GET',
        headers: {},
        body: undefined,
        offset,
        end,
        // Always the ticket's version, whatever the browser remembers: a new version is refused, not restarted.
        validator: claims.validator ?? undefined,
        signal,
      });
    } catch (err) {
      const ended = record.ended as DownloadRecord['ended'];
      const e = ended instanceof FerryError ? ended : err instanceof FerryError ? err : new FerryError('upstream_error');
      // A new version is final; anything else the watcher hears about, but a later request may still succeed.
      if (e.code === 'source_changed') this.records.end(record, e);
      else if (e !== ended) for (const w of record.watchers) w.failed(e);
      this.options.log.info({ download: claims.id, code: e.code, offset }, 'download refused');
      return { ...failure(e, record.total), upstream: null };
    }
    const { meta } = upstream;
    const headers = replyHeaders(meta, claims, method);
    const status = meta.status === 206 ? 206 : 200;
    if (method === 'HEAD') {
      upstream.destroy();
      return { status, headers, body: null, text: '', upstream: null };
    }
    record.total = meta.total ?? record.total;
    return { status, headers, body: null, text: '', upstream };
  }

  private async *relayBody(record: DownloadRecord, upstream: UpstreamResponse, stop: AbortController, use: TicketUse): AsyncGenerator<Uint8Array> {
    const { offset } = upstream.meta;
    this.options.metrics.downloads.inc();
    let sent = 0;
    let whole = false;
    try {
      for await (const chunk of new RelayedBody(upstream, { idleMs: this.options.idleMs, metrics: this.options.metrics, stop: stop.signal })) {
        sent += chunk.byteLength;
        this.records.advance(record, offset + sent, chunk.byteLength);
        yield chunk;
      }
      whole = true;
      // A player reads the end and seeks back; only a saved file is done once its last byte is sent.
      if (use === 'play') this.records.report(record);
      else if (record.total === null || offset + sent >= record.total) this.records.end(record, 'done');
    } finally {
      record.responses.delete(stop);
      this.options.metrics.downloads.dec();
      upstream.destroy();
      if (!whole) this.records.reportIfStopped(record);
    }
  }
}
