/**
 * An upstream body as the relay passes it on, the same for socket streams and `/save/` downloads: each chunk
 * counted, an origin that goes quiet for `idleMs` cut off, and a body shorter than its announced length
 * failed as `truncated` rather than ended cleanly.
 */
import { FerryError } from '../../protocol/codes.js';
import type { RelayMetrics } from './metrics.js';
import type { UpstreamResponse } from './upstream.js';

export interface RelayedBodyOptions {
  idleMs: number;
  metrics: RelayMetrics;
  /** Aborting it ends the body at once, with the signal's reason. */
  stop: AbortSignal;
}

export async function* relayedBody(upstream: UpstreamResponse, options: RelayedBodyOptions): AsyncGenerator<Uint8Array> {
  const { length } = upstream.meta;
  let sent = 0;
  for (;;) {
    const next = await nextOrStop(upstream.body, options.idleMs, options.stop);
    if (next.done) break;
    sent += next.value.byteLength;
    options.metrics.bytes.inc(next.value.byteLength);
    yield next.value;
  }
  // Ending cleanly short of the length would tell the reader the file is whole.
  if (length !== null && sent < length) throw new FerryError('truncated', `the server sent ${sent} of ${length} bytes`);
}

/** The body's next chunk, unless the upstream goes quiet for `idleMs` or the reading is stopped first. */
async function nextOrStop(body: AsyncIterator<Uint8Array>, idleMs: number, stop: AbortSignal): Promise<IteratorResult<Uint8Array>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onStop: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FerryError('upstream_timeout', `the server sent nothing for ${Math.round(idleMs / 1000)} s`)), idleMs);
    onStop = () => reject(stop.reason instanceof FerryError ? stop.reason : new FerryError('cancelled'));
    if (stop.aborted) onStop();
    stop.addEventListener('abort', onStop);
  });
  try {
    return await Promise.race([body.next(), interrupted]);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop!);
  }
}
