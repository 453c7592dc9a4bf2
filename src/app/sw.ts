/// <reference lib="webworker" />
/**
 * The service worker that turns a stream made in the page into a file download: the page hands it a
 * ReadableStream (transferred, so backpressure crosses over), then opens /download/ID/NAME in a hidden frame;
 * this answers that request with the stream. The browser writes it to disk as it comes; nothing is held.
 */
declare const self: ServiceWorkerGlobalScope;

interface PendingDownload { stream: ReadableStream<Uint8Array>; name: string; size: number | null }
const pending = new Map<string, PendingDownload>();

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  const m = event.data as { type?: string; id?: string } & Partial<PendingDownload>;
  if (m.type !== 'download' || !m.id || !m.stream || !m.name) return;
  pending.set(m.id, { stream: m.stream, name: m.name, size: m.size ?? null });
  event.ports[0]?.postMessage('ready');
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
  if (download.size !== null) headers['content-length'] = String(download.size);
  event.respondWith(new Response(download.stream, { headers }));
});
