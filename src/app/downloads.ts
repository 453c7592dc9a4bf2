/**
 * Downloads from the page, at flat memory: the relay's bytes are pulled into a ReadableStream only as fast
 * as the browser writes the file (credit follows), handed to the service worker, and saved by the browser's
 * own download manager. A dropped connection is resumed by the client library with the validator; a changed
 * file fails the download instead of splicing two versions.
 */
import type { Connection } from '../client/connection.js';
import { suggestedName } from '../client/filename.js';
import { RateMeter } from '../client/rate.js';
import type { Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { describeError } from '../player/messages.js';

/** Credit per download: enough to keep the socket busy, small enough that a tab holds little. */
const WINDOW = 2 * 1024 * 1024;
const MB = 1024 * 1024;

export interface DownloadRow {
  name: string;
  received: number;
  total: number | null;
  speed: number;
  state: 'starting' | 'saving' | 'done' | 'failed' | 'cancelled';
  error: string | null;
  cancel(): void;
}

let worker: Promise<ServiceWorker> | null = null;

function serviceWorker(): Promise<ServiceWorker> {
  worker ??= (async () => {
    if (!('serviceWorker' in navigator)) {
      throw new FerryError('unsupported_codec', 'this page must be opened over https or on localhost to save large files');
    }
    await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    const registration = await navigator.serviceWorker.ready;
    return registration.active!;
  })();
  return worker;
}

export async function startDownload(connection: Connection, url: string, onChange: (row: DownloadRow) => void): Promise<DownloadRow> {
  const transfer = connection.open({ url, window: WINDOW });
  const meter = new RateMeter();
  const row: DownloadRow = {
    name: '…',
    received: 0,
    total: null,
    speed: 0,
    state: 'starting',
    error: null,
    cancel: () => {
      if (row.state !== 'starting' && row.state !== 'saving') return;
      transfer.cancel();
      row.state = 'cancelled';
      onChange(row);
    },
  };
  try {
    const meta = await transfer.meta;
    row.name = suggestedName(meta.url, meta.disposition);
    row.total = meta.total;
    const sw = await serviceWorker();
    const stream = pullStream(transfer, (bytes) => {
      row.received += bytes;
      meter.add(row.received);
      row.speed = meter.rate();
      onChange(row);
    }, (err) => {
      if (row.state === 'cancelled') return;
      row.state = err ? 'failed' : 'done';
      row.error = err ? describeError(err) : null;
      onChange(row);
    });
    const id = crypto.randomUUID();
    const channel = new MessageChannel();
    const ready = new Promise((resolve) => (channel.port1.onmessage = resolve));
    sw.postMessage({ type: 'download', id, stream, name: row.name, size: meta.total }, [channel.port2, stream as unknown as Transferable]);
    await ready;
    const frame = document.createElement('iframe');
    frame.hidden = true;
    frame.src = `/download/${id}/${encodeURIComponent(row.name)}`;
    document.body.append(frame);
    row.state = 'saving';
  } catch (err) {
    transfer.cancel();
    row.state = 'failed';
    row.error = describeError(err instanceof FerryError ? err : new FerryError('media_error', String(err)));
  }
  onChange(row);
  return row;
}

/** A stream that reads the transfer only when the consumer (the browser writing the file) pulls. */
function pullStream(transfer: Transfer, onBytes: (n: number) => void, onEnd: (err: FerryError | null) => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await transfer.read();
          if (!chunk) {
            controller.close();
            onEnd(null);
            return;
          }
          controller.enqueue(chunk.data);
          onBytes(chunk.data.byteLength);
        } catch (err) {
          controller.error(err);
          onEnd(err as FerryError);
        }
      },
      cancel() {
        // The person cancelled the download in the browser: free the relay's upstream at once.
        transfer.cancel();
        onEnd(new FerryError('cancelled', 'the download was cancelled'));
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 1024 * 1024 }),
  );
}

export function downloadLine(row: DownloadRow): string {
  if (row.state === 'failed') return `${row.name}: failed: ${row.error}`;
  if (row.state === 'cancelled') return `${row.name}: cancelled`;
  const done = `${(row.received / MB).toFixed(1)} MB`;
  if (!row.total) return `${row.name}: ${done} · ${(row.speed / MB).toFixed(0)} MB/s`;
  const left = row.speed > 0 ? ` · ${Math.ceil((row.total - row.received) / row.speed)} s left` : '';
  const status = row.state === 'done' ? 'saved' : `${(row.speed / MB).toFixed(0)} MB/s${left}`;
  return `${row.name}: ${((100 * row.received) / row.total).toFixed(2)}% of ${(row.total / MB).toFixed(0)} MB · ${status}`;
}
