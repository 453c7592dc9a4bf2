/**
 * Downloads from the page. The relay signs a ticket for the file; a hidden frame points the browser's own
 * download manager at it, which writes the bytes to disk as they come and resumes a dropped connection by
 * itself. No script touches the bytes, so the tab's memory does not grow with the file. The page follows the
 * download's progress over its connection to the relay, and can cancel it there.
 */
import type { Connection } from '../client/connection.js';
import { RateMeter } from '../ui/rate.js';
import type { FerryError } from '../protocol/codes.js';
import { describeError } from '../ui/messages.js';

const MB = 1024 * 1024;
/** Without a report this long, the row says so: the relay serving the download may not be the page's. */
const QUIET_MS = 10_000;

export interface DownloadRow {
  name: string;
  received: number;
  total: number | null;
  speed: number;
  /** `stopped`: the browser's connection broke and the browser has not asked for the rest (yet). */
  state: 'starting' | 'saving' | 'stopped' | 'done' | 'failed' | 'cancelled';
  error: string | null;
  /** When the relay last reported on it (performance.now()). */
  heard: number;
  cancel(): void;
}

export function startDownload(connection: Connection, url: string, onChange: (row: DownloadRow) => void): DownloadRow {
  const download = connection.download(url);
  const meter = new RateMeter();
  const row: DownloadRow = {
    name: '…',
    received: 0,
    total: null,
    speed: 0,
    state: 'starting',
    error: null,
    heard: performance.now(),
    cancel: () => download.cancel(),
  };
  const quiet = setInterval(() => {
    if (row.state === 'done' || row.state === 'failed' || row.state === 'cancelled') clearInterval(quiet);
    else if (performance.now() - row.heard > QUIET_MS) onChange(row);
  }, 1000);
  download.events = {
    ticket: (ticket) => {
      row.heard = performance.now();
      row.name = ticket.name;
      row.total = ticket.total;
      row.state = 'saving';
      const frame = document.createElement('iframe');
      frame.hidden = true;
      frame.src = ticket.path;
      document.body.append(frame);
      // The download has left the frame once it starts; the frame itself is not needed for long.
      setTimeout(() => frame.remove(), 60_000);
      onChange(row);
    },
    progress: (bytes, total, done, stopped) => {
      row.heard = performance.now();
      row.received = bytes;
      row.total = total ?? row.total;
      meter.add(bytes);
      row.speed = meter.rate();
      row.state = done ? 'done' : stopped ? 'stopped' : 'saving';
      onChange(row);
    },
    error: (err: FerryError) => {
      row.state = err.code === 'cancelled' ? 'cancelled' : 'failed';
      row.error = err.code === 'cancelled' ? null : describeError(err);
      onChange(row);
    },
  };
  onChange(row);
  return row;
}

export function downloadLine(row: DownloadRow): string {
  if (row.state === 'failed') return `${row.name}: failed: ${row.error}`;
  if (row.state === 'cancelled') return `${row.name}: cancelled`;
  if (row.state === 'stopped') {
    const at = row.total ? `${((100 * row.received) / row.total).toFixed(0)}%` : `${(row.received / MB).toFixed(1)} MB`;
    return `${row.name}: stopped at ${at}: the connection broke. Open your browser's downloads (Ctrl+J) and press Resume; the relay serves the rest of the same file.`;
  }
  const quiet = performance.now() - row.heard;
  if (row.state === 'saving' && quiet > QUIET_MS) {
    return `${row.name}: no report for ${Math.round(quiet / 1000)} s; the browser's download list shows where it stands`;
  }
  const done = `${(row.received / MB).toFixed(1)} MB`;
  if (!row.total) return `${row.name}: ${done} · ${(row.speed / MB).toFixed(0)} MB/s`;
  const left = row.speed > 0 ? ` · ${Math.ceil((row.total - row.received) / row.speed)} s left` : '';
  const status = row.state === 'done' ? 'saved' : `${(row.speed / MB).toFixed(0)} MB/s${left}`;
  return `${row.name}: ${((100 * row.received) / row.total).toFixed(2)}% of ${(row.total / MB).toFixed(0)} MB · ${status}`;
}
