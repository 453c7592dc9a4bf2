/**
 * Sound no page can decode, decoded by the relay: TrueHD, whose only decoders (libavcodec's) are on npm in
 * builds a page may not ship (ffmpeg.wasm's core is GPL and 31 MB; no libav.js variant has it). An opt-in of
 * the Node edge (`--decode-audio`), run by Debian's ffmpeg. A page converting such a track opens a WebSocket
 * at `/decode/TICKET`, the ticket being its playback ticket for the file (so only a page the relay already
 * serves that file to may); it sends the track's packets as one Matroska stream (its head, then clusters as
 * they come), and takes back the sound, downmixed by the stream's own stereo presentation, as 32-bit float
 * stereo at 48 kHz, in order. A text message `end` ends its input; the socket closes once all is sent. The
 * picture never comes here, and a seek is a new socket. One ffmpeg per socket, on one thread, at most one
 * per core at once; what it has not yet taken or sent is held to a few MB by pausing the other side. One more
 * waits, started and idle, for the next socket: ffmpeg takes 130 ms to start here, which a seek would wait.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Downloads } from '../core/downloads.js';
import type { Logger } from '../core/log.js';
import type { SitePolicy } from '../core/site.js';
import { FerryError } from '../../protocol/codes.js';
import { pathOf, refuse } from './socket-edge.js';

export const DECODE_PATH = '/decode/';
/** The codecs this relay decodes for pages when `--decode-audio` is on, as the page's converter names them. */
export const RELAY_DECODES = ['truehd'];

/** A message of packets: a second of TrueHD at its highest rate (18 Mbit/s) is 2.3 MB. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Sound sent and not yet written to the page's socket, past which ffmpeg's output is not read. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/**
 * Nothing but a Matroska stream from the pipe, read only by the TrueHD decoder, at most 256 MB held
 * (`-max_alloc`), and read as it comes: no probing ahead (`-probesize`, `-analyzeduration`). The sound goes
 * out 20 ms at a time (`asetnsamples`): frame by frame (40 samples) it was 1 200 messages a second of sound,
 * and at 16x the page and the relay spent their time on messages (16x played 0.45x as far as AAC, now 0.8x).
 */
export const FFMPEG_ARGS = [
  '-hide_banner', '-loglevel', 'error', '-nostdin', '-threads', '1', '-filter_threads', '1',
  '-max_alloc', String(256 * 1024 * 1024), '-probesize', '32', '-analyzeduration', '0',
  '-f', 'matroska', '-protocol_whitelist', 'pipe', '-codec_whitelist', 'truehd', '-c:a', 'truehd',
  '-downmix', 'stereo', '-i', 'pipe:0',
  '-map', '0:a:0', '-ac', '2', '-ar', '48000', '-af', 'asetnsamples=n=960:p=0',
  '-f', 'f32le', '-flush_packets', '1', 'pipe:1',
];

export interface DecodeEdgeOptions {
  site: SitePolicy;
  downloads: Downloads;
  log: Logger;
  /** ffmpeg processes at once, across the relay. */
  maxDecodes: number;
  ffmpeg: string;
  /**
   * A socket that sends nothing for this long (its film paused) is closed with 1001, and its ffmpeg with it;
   * the page opens another when it has packets again.
   */
  idleMs: number;
}

export interface DecodeEdge {
  /** Whether an upgrade request is for this edge. */
  owns(req: IncomingMessage): boolean;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

type Ffmpeg = ChildProcessWithoutNullStreams;

/** An ffmpeg started ahead, idle on its input until a socket takes it (none is running for nothing else). */
class SpareFfmpeg {
  private spare: Ffmpeg | null = null;
  private closed = false;

  constructor(private readonly options: DecodeEdgeOptions) {
    this.spare = this.start();
  }

  /** The one waiting, if it is still there, else a new one; another is started for the next socket. */
  take(): Ffmpeg {
    const ready = this.spare && this.spare.exitCode === null && !this.spare.killed ? this.spare : this.start();
    this.spare = null;
    setImmediate(() => {
      if (!this.closed && !this.spare) this.spare = this.start();
    });
    return ready;
  }

  close(): void {
    this.closed = true;
    this.spare?.kill('SIGKILL');
  }

  private start(): Ffmpeg {
    const ffmpeg = spawn(this.options.ffmpeg, FFMPEG_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] });
    ffmpeg.once('error', (err) => this.options.log.warn({ err: err.message }, 'ffmpeg did not start'));
    ffmpeg.stdin.on('error', () => {});
    return ffmpeg;
  }
}

export function createDecodeEdge(options: DecodeEdgeOptions): DecodeEdge {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  const spare = new SpareFfmpeg(options);
  let running = 0;

  async function admit(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const site = { host: req.headers.host, origin: req.headers.origin, fetchSite: undefined };
    const refusal = options.site.hostRefusal(req.headers.host) ?? options.site.originRefusal(site);
    if (refusal) return refuse(socket, '403 Forbidden', refusal);
    const ticket = pathOf(req.url)!.slice(DECODE_PATH.length);
    try {
      const claims = await options.downloads.verify(ticket);
      if (claims.use !== 'play') throw new FerryError('ticket_invalid', 'this ticket is not for playing');
    } catch (err) {
      return refuse(socket, '403 Forbidden', err instanceof FerryError ? err.message : 'this ticket is not valid');
    }
    if (running >= options.maxDecodes) {
      return refuse(socket, '503 Service Unavailable', 'the relay is decoding as much sound as it may at once');
    }
    // Gone while its ticket was read: ws would drop it without a socket, and the count would never come back.
    if (!socket.readable || !socket.writable) return void socket.destroy();
    running++;
    wss.handleUpgrade(req, socket, head, (ws) => decode(ws, spare.take(), options.idleMs, () => running--));
  }

  return {
    owns: (req) => pathOf(req.url)?.startsWith(DECODE_PATH) === true,
    upgrade: (req, socket, head) => void admit(req, socket, head).catch(() => socket.destroy()),
    close: () => {
      spare.close();
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** One socket's decode: its ffmpeg, fed and read with backpressure both ways, and ended with it. */
function decode(ws: WebSocket, ffmpeg: Ffmpeg, idleMs: number, release: () => void): void {
  let said = '';
  let unsent = 0;
  let idle = setTimeout(() => ws.close(1001, 'nothing to decode'), idleMs);
  ffmpeg.stderr.on('data', (text: Buffer) => (said = (said + text.toString()).slice(-400)));
  ffmpeg.stdin.on('drain', () => ws.resume());
  ffmpeg.stdout.on('data', (pcm: Buffer) => {
    unsent += pcm.byteLength;
    if (unsent > MAX_UNSENT_BYTES) ffmpeg.stdout.pause();
    ws.send(pcm, { binary: true }, () => {
      unsent -= pcm.byteLength;
      if (unsent <= MAX_UNSENT_BYTES) ffmpeg.stdout.resume();
    });
  });
  ffmpeg.once('error', () => ws.close(1011, 'the relay could not start its decoder'));
  ffmpeg.once('close', (code) => {
    clearTimeout(idle);
    release();
    // A socket paused for ffmpeg's input would not read the page's answer to the close.
    ws.resume();
    if (code === 0) ws.close(1000, 'done');
    else if (ws.readyState === ws.OPEN) ws.close(1011, closeReason(said));
  });
  ws.on('message', (data: RawData, binary: boolean) => {
    clearTimeout(idle);
    idle = setTimeout(() => ws.close(1001, 'nothing to decode'), idleMs);
    if (!binary) return data.toString() === 'end' ? void ffmpeg.stdin.end() : ws.close(1003, 'only packets and end');
    if (!ffmpeg.stdin.write(data as Buffer)) ws.pause();
  });
  ws.on('close', () => {
    clearTimeout(idle);
    if (ffmpeg.exitCode === null) ffmpeg.kill('SIGKILL');
  });
}

/** What ffmpeg said of the input, as a close reason (at most 123 bytes, printable). */
function closeReason(said: string): string {
  const line = said.trim().split('\n').pop()?.replace(/[^\x20-\x7e]/g, '') ?? '';
  const reason = `the relay could not decode this sound${line ? `: ${line}` : ''}`;
  return reason.slice(0, 123);
}
