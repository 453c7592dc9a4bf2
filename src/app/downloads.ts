/**
 * Downloads from the page. The service worker (sw.ts) holds the download's connection and hands the bytes to
 * the browser's download manager; the page starts it, shows its progress and can cancel it.
 */
import type { FerryError } from '../protocol/codes.js';
import { describeError } from '../player/messages.js';
import type { DownloadEvent } from './sw.js';

const MB = 1024 * 1024;
const KEEPALIVE_MS = 10_000;

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
    if (!('serviceWorker' in navigator)) throw new Error('this page must be opened over https or on localhost to save large files');
    await navigator.serviceWorker.register('/sw.js', { scope: '/', type: 'module' });
    return (await navigator.serviceWorker.ready).active!;
  })();
  return worker;
}

export async function startDownload(url: string, password: string | undefined, onChange: (row: DownloadRow) => void): Promise<DownloadRow> {
  const channel = new MessageChannel();
  const row: DownloadRow = {
    name: '…',
    received: 0,
    total: null,
    speed: 0,
    state: 'starting',
    error: null,
    cancel: () => {
      if (row.state !== 'starting' && row.state !== 'saving') return;
      channel.port1.postMessage({ type: 'cancel' });
      end('cancelled', null);
    },
  };
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const end = (state: DownloadRow['state'], error: string | null): void => {
    clearInterval(keepalive);
    row.state = state;
    row.error = error;
    onChange(row);
  };
  try {
    const sw = await serviceWorker();
    const id = crypto.randomUUID();
    channel.port1.onmessage = (e) => {
      const ev = e.data as DownloadEvent;
      if (row.state === 'cancelled' || row.state === 'failed') return;
      if (ev.type === 'meta') {
        row.name = ev.name;
        row.total = ev.total;
        row.state = 'saving';
        const frame = document.createElement('iframe');
        frame.hidden = true;
        frame.src = `/download/${id}/${encodeURIComponent(ev.name)}`;
        document.body.append(frame);
        keepalive = setInterval(() => sw.postMessage({ type: 'ping' }), KEEPALIVE_MS);
        onChange(row);
      } else if (ev.type === 'progress') {
        row.received = ev.received;
        row.speed = ev.speed;
        onChange(row);
      } else if (ev.type === 'done') {
        row.received = ev.received;
        end('done', null);
      } else {
        end(ev.code === 'cancelled' ? 'cancelled' : 'failed', ev.code === 'cancelled' ? null : describeError({ code: ev.code, message: ev.message } as FerryError));
      }
    };
    sw.postMessage({ type: 'download', id, url, password }, [channel.port2]);
  } catch (err) {
    end('failed', (err as Error).message);
  }
  return row;
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
