/**
 * A stream's upstream: opened (or re-opened, after parking) from the stream's next byte and pinned to its
 * first answer's version; the first answer described to the client in a `meta`. An index stream whose open
 * asked for its media (`media`) opens that stream too, as soon as the meta says where the media starts.
 */
import { FerryError } from '../../protocol/codes.js';
import type { OpenMessage, RelayMessage } from '../../protocol/frames.js';
import { decodeRequestBody } from '../../protocol/parse.js';
import { openIndex } from './mp4-index.js';
import { RelayedBody } from './relayed-body.js';
import type { StreamDeps } from './streams.js';
import type { Stream } from './stream.js';
import type { ResponseMeta, UpstreamResponse } from './upstream.js';

export interface UpstreamHost {
  deps: StreamDeps;
  send(message: RelayMessage): void;
  /** Opens the media an index stream asked for; its frames wait for `after` (the index's head sent). */
  openMedia(open: OpenMessage, after: Promise<void>): void;
}

/** Opens the stream's upstream from its next byte; null if the stream closed meanwhile. */
export async function connectUpstream(host: UpstreamHost, stream: Stream, wanted: number): Promise<UpstreamResponse | null> {
  const m = stream.request;
  stream.connectingSince = Date.now();
  const { openUpstream, indexTurns } = host.deps;
  const upstream = await (m.index === 'mp4' ? openIndex.bind(null, openUpstream, indexTurns) : openUpstream)({
    url: m.url,
    method: m.method ?? 'GET',
    headers: m.headers ?? {},
    body: m.body === undefined ? undefined : decodeRequestBody(m.body),
    offset: stream.offset,
    end: m.end,
    validator: stream.validator ?? undefined,
    signal: stream.abort.signal,
  });
  if (stream.closed) {
    upstream.destroy();
    return null;
  }
  stream.upstream = upstream;
  stream.body = new RelayedBody(upstream, { idleMs: host.deps.limits.idleMs, metrics: host.deps.metrics, stop: stream.abort.signal });
  stream.connectingSince = null;
  if (stream.described) {
    // Without a validator, the size is all there is to tell one version from another.
    if (!stream.validator && upstream.meta.total !== stream.total) throw new FerryError('source_changed');
    return upstream;
  }
  const { length, ...meta } = upstream.meta;
  stream.described = true;
  stream.validator = meta.validator;
  stream.total = meta.total;
  stream.expected = Math.min(length ?? Infinity, wanted);
  host.send({ t: 'meta', id: stream.id, ...meta });
  openMedia(host, stream, meta);
  return upstream;
}

/**
 * The media at the first mdat, for an index stream that asked for it: opened now, in parallel with the moov's
 * reading, a round trip before the page could ask; its bytes wait for the head, which the page needs first.
 */
function openMedia(host: UpstreamHost, index: Stream, meta: Omit<ResponseMeta, 'length'>): void {
  const { media, url, headers } = index.request;
  const at = meta.index?.mediaOffset;
  if (!media || at === null || at === undefined) return;
  let release!: () => void;
  const after = new Promise<void>((resolve) => (release = resolve));
  index.headSent = release;
  const validator = meta.validator ?? undefined;
  host.openMedia({ t: 'open', id: media.id, url, ...(headers && { headers }), offset: at, ...(validator && { validator }), credit: media.credit }, after);
}
