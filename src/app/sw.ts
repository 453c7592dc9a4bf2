/// <reference lib="webworker" />
/**
 * The service worker that saves downloads. It holds the download's own connection to the relay, so the bytes
 * go from the socket to the browser's download manager without crossing into the page (each crossing is a
 * copy, and garbage). The page asks for a download and gets back its name and size, then progress; it opens
 * /download/ID/NAME in a hidden frame, which this answers with a stream that reads the relay only as fast as
 * the file is written. A dropped socket is resumed by the client library with the validator.
 */
import { Connection } from '../client/connection.js';
import { RateMeter } from '../client/rate.js';
import type { Transfer } from '../client/transfer.js';
import { FerryError } from '../protocol/codes.js';
import { suggestedName } from '../client/filename.js';

declare const self: ServiceWorkerGlobalScope;

/** Credit per download: enough to keep the socket busy, small enough that little is held. */
const WINDOW = 2 * 1024 * 1024;
const PROGRESS_MS = 200;

export type DownloadEvent =
  | { type: 'meta'; name: string; total: number | null }
  | { type: 'progress'; received: number; speed: number }
  | { type: 'done'; received: number }
  | { type: 'error'; code: string; message: string };

interface Pending { transfer: Transfer; port: MessagePort; name: string; total: number | null }
const pending = new Map<string, Pending>();
let connection: { key: string; value: Connection } | null = null;

function connectionFor(password: string | undefined): Connection {
  const key = password ?? '';
  if (!connection || connection.key !== key || connection.value.state === 'closed') {
    connection?.value.close();
    const relay = `${self.location.protocol === 'https:' ? 'wss' : 'ws'}://${self.location.host}/ws`;
    connection = { key, value: new Connection({ relay, ...(password && { password }) }) };
  }
  return connection.value;
}

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const m = event.data as { type?: string; id?: string; url?: string; password?: string };
  // Pings from the page while a download runs keep this worker alive: each message is an event.
  if (m.type !== 'download' || !m.id || !m.url || !event.ports[0]) return;
  const port = event.ports[0];
  const transfer = connectionFor(m.password).open({ url: m.url, window: WINDOW });
  port.onmessage = (e) => {
    if ((e.data as { type?: string }).type === 'cancel') transfer.cancel();
  };
  const send = (ev: DownloadEvent): void => port.postMessage(ev);
  event.waitUntil(
    transfer.meta.then(
      (meta) => {
        const name = suggestedName(meta.url, meta.disposition);
        pending.set(m.id!, { transfer, port, name, total: meta.total });
        send({ type: 'meta', name, total: meta.total });
      },
      (err: FerryError) => send({ type: 'error', code: err.code, message: err.message }),
    ),
  );
});

self.addEventListener('fetch', (event) => {
  const match = /^\/download\/([\w-]+)\//.exec(new URL(event.request.url).pathname);
  if (!match) return;
  const download = pending.get(match[1]!);
  pending.delete(match[1]!);
  if (!download) {
    event.respondWith(new Response('this download has expired', { status: 404 }));
    return;
  }
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(download.name)}`,
    'x-content-type-options': 'nosniff',
  };
  if (download.total !== null) headers['content-length'] = String(download.total);
  event.respondWith(new Response(pullStream(download), { headers }));
});

/** A stream that reads the transfer only when the download manager pulls. */
function pullStream({ transfer, port }: Pending): ReadableStream<Uint8Array> {
  const meter = new RateMeter();
  let received = 0;
  let reported = 0;
  const send = (ev: DownloadEvent): void => port.postMessage(ev);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const chunk = await transfer.read();
          if (!chunk) {
            controller.close();
            send({ type: 'done', received });
            return;
          }
          controller.enqueue(chunk.data);
          received += chunk.data.byteLength;
          meter.add(received);
          if (performance.now() - reported > PROGRESS_MS) {
            reported = performance.now();
            send({ type: 'progress', received, speed: meter.rate() });
          }
        } catch (err) {
          const e = err as FerryError;
          controller.error(e);
          send({ type: 'error', code: e.code, message: e.message });
        }
      },
      cancel() {
        // Cancelled in the browser's download list: free the relay's upstream at once.
        transfer.cancel();
        send({ type: 'error', code: 'cancelled', message: 'the download was cancelled' });
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 1024 * 1024 }),
  );
}
