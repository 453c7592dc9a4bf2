/**
 * Workers edge of the upstream: the requests themselves, with `fetch`. What to ask and what to accept is
 * core/upstream.ts, hop by hop (`hopByHop`: each redirect checked, never followed by fetch itself). The
 * platform refuses private and loopback addresses on its own; the scheme and address checks of the core
 * still run on every hop.
 */
import { FerryError } from '../../protocol/codes.js';
import type { DestinationPolicy } from '../core/guard.js';
import { hopByHop, type OpenUpstream } from '../core/upstream.js';

function networkError(err: unknown): FerryError {
  if (err instanceof FerryError) return err;
  const e = err as { name?: string; message?: string };
  if (e.name === 'AbortError') return new FerryError('cancelled');
  return new FerryError('connect_failed', `the server could not be reached (${String(e.message ?? err).slice(0, 120)})`);
}

export function createFetchUpstream(policy: DestinationPolicy): OpenUpstream {
  return hopByHop(async (hop, signal) => {
    let res: Response;
    try {
      res = await fetch(hop.url, { method: hop.method, headers: hop.headers, body: (hop.body as Uint8Array<ArrayBuffer> | undefined) ?? null, redirect: 'manual', signal });
    } catch (err) {
      throw networkError(err);
    }
    return { status: res.status, header: (name) => res.headers.get(name), relay: () => bodyOf(res), discard: () => void res.body?.cancel().catch(() => {}) };
  }, policy);
}

/** The most one read takes: workerd hands a fetch body to a plain reader 4 KiB at a time. */
const READ_BYTES = 256 * 1024;

/**
 * The body as the core reads it: pieces as they come, a failure mid-way as the relay's error. Read into a
 * buffer of our own (a BYOB reader), each read takes all that has arrived, up to READ_BYTES: read 4 KiB at a
 * time, one WebSocket frame per 4 KiB cost 11 CPU-s/GB in workerd (bench:edge). A small piece is copied out
 * so that it does not hold a whole buffer.
 */
function bodyOf(res: Response): { body: AsyncIterator<Uint8Array>; destroy(): void } {
  const reader = res.body?.getReader({ mode: 'byob' });
  return {
    body: {
      async next() {
        if (!reader) return { value: undefined, done: true };
        try {
          const { value, done } = await reader.read(new Uint8Array(READ_BYTES));
          if (done || !value) return { value: undefined, done: true };
          return { value: value.byteLength < READ_BYTES / 4 ? value.slice() : value, done: false };
        } catch (err) {
          const e = networkError(err);
          throw e.code === 'cancelled' ? e : new FerryError('upstream_error', 'the connection to the server failed');
        }
      },
    },
    destroy: () => void reader?.cancel().catch(() => {}),
  };
}
