/**
 * The page's side of audio conversion: one worker per converted track playing, fragments of its packets
 * handed over as the demuxer makes them, Opus fragments handed on to the buffers when they come back. A seek
 * drops what the worker had under way (a new generation); what is handed over and not yet converted counts
 * toward the bytes the engine holds, and past a bound the loader stops reading until the worker catches up.
 */
import { FerryError } from '../../protocol/codes.js';
import type { BufferPool } from '../buffer-pool.js';
import type { PlayedTrack } from '../container.js';
import type { Fragment } from '../fragmenter.js';
import type { FromWorker, ToWorker } from './conversion.js';
import type { RelayDecoding } from './support.js';
import { codecName } from '../codecs.js';

/** Packets handed over and not yet converted, past which reading waits: seconds of a film's sound. */
const MAX_PENDING_BYTES = 2 * 1024 * 1024;

/** Where conversion turns for what it cannot do alone, and where it reports. */
export interface ConversionHelp {
  /** The relay's decoder, for the codecs it decodes (TrueHD), where it has one. */
  relay: RelayDecoding | null;
  /** A converter that cannot run (its worker refused): the film cannot play on. */
  fail: (err: FerryError) => void;
  /** A sentence for the page that is no error: some sound could not be decoded, and plays as silence. */
  notice: (text: string) => void;
}

interface Converter {
  track: PlayedTrack;
  worker: Worker;
  generation: number;
  pending: number;
}

export class AudioConversions {
  private readonly converters = new Map<number, Converter>();

  constructor(
    private readonly pool: BufferPool,
    /** A converted fragment, for the buffers. */
    private readonly deliver: (fragment: Fragment) => void,
    /** Work handed back: whoever waits for room may look again. */
    private readonly changed: () => void,
    private readonly help: ConversionHelp,
  ) {}

  /** Starts a worker for each track to convert, for playing from `from` (seconds). */
  open(tracks: readonly PlayedTrack[], from: number): void {
    for (const track of tracks) if (track.conversion) this.start(track, from);
  }

  /** Another audio track plays in place of `old` from `from`: its worker goes, the new one's starts if it converts. */
  replace(old: PlayedTrack, track: PlayedTrack, from: number): void {
    this.stop(old.id);
    if (track.conversion) this.start(track, from);
  }

  /** Takes a fragment of a converted track (true), or leaves it to the buffers (false). */
  take(fragment: Fragment): boolean {
    const converter = this.converters.get(fragment.trackId);
    if (!converter) return false;
    const data = fragment.data.slice().buffer;
    this.pool.release(fragment.data);
    const { timestampOffset, last } = fragment;
    converter.pending += data.byteLength;
    this.post(converter, { type: 'fragment', generation: converter.generation, data, timestampOffset, last }, [data]);
    return true;
  }

  /** A seek to `from`: what was under way is for the old place. */
  reset(from: number): void {
    for (const c of this.converters.values()) {
      c.generation++;
      c.pending = 0;
      this.post(c, { type: 'reset', generation: c.generation, from });
    }
  }

  /** Whether track `id` is converted here. */
  converts(id: number): boolean {
    return this.converters.has(id);
  }

  /** Bytes handed over and not yet converted. */
  get held(): number {
    let bytes = 0;
    for (const c of this.converters.values()) bytes += c.pending;
    return bytes;
  }

  /** Whether a worker is far enough behind that reading should wait for it. */
  behind(): boolean {
    return this.held >= MAX_PENDING_BYTES;
  }

  close(): void {
    for (const id of [...this.converters.keys()]) this.stop(id);
    this.help.relay?.close();
  }

  private start(track: PlayedTrack, from: number): void {
    const worker = new Worker(new URL('./conversion-worker.ts', import.meta.url), { type: 'module' });
    const converter: Converter = { track, worker, generation: 0, pending: 0 };
    this.converters.set(track.id, converter);
    worker.onmessage = (event: MessageEvent<FromWorker>): void => this.receive(converter, event.data);
    worker.onerror = (event): void => {
      event.preventDefault();
      this.failed(converter, event.message || 'its worker could not start');
    };
    const conversion = track.conversion!;
    this.post(converter, { type: 'start', conversion, trackId: track.id, generation: 0, from });
    if (conversion.codec === 'truehd') this.reachRelay(converter);
  }

  /** Tells the worker where the relay decodes its sound (or why it cannot), once the ticket for it comes. */
  private reachRelay(c: Converter): void {
    const tell = (address: string | null, why: string): void => {
      if (this.converters.get(c.track.id) === c) this.post(c, { type: 'relay', address, why });
    };
    const relay = this.help.relay;
    if (!relay) return tell(null, 'the relay does not decode it');
    relay.address().then((address) => tell(address, ''), (err: unknown) => tell(null, String((err as Error).message)));
  }

  private receive(c: Converter, message: FromWorker): void {
    if (this.converters.get(c.track.id) !== c) return;
    if (message.type === 'failed') return this.help.notice(silenced(c.track.codec, message.message));
    if (message.generation !== c.generation) return;
    if (message.type === 'taken') {
      c.pending = Math.max(0, c.pending - message.bytes);
      this.changed();
      return;
    }
    const { data, endTime, last } = message;
    this.deliver({ trackId: c.track.id, data: new Uint8Array(data), endTime, timestampOffset: 0, last });
  }

  /** Its worker could not start (a policy that forbids the page's own workers): the film cannot play on. */
  private failed(c: Converter, why: string): void {
    const what = codecName(c.track.codec);
    this.help.fail(new FerryError('media_error', `the ${what} sound could not be converted in this page (${why})`));
  }

  private stop(id: number): void {
    this.converters.get(id)?.worker.terminate();
    this.converters.delete(id);
  }

  private post(c: Converter, message: ToWorker, transfer: Transferable[] = []): void {
    c.worker.postMessage(message, transfer);
  }
}

/** The notice for sound that did not decode, with the decoder's reason and what will play it. */
function silenced(codec: string, why: string): string {
  const what = codecName(codec);
  return `the ${what} sound could not be converted in this page (${why}): the picture plays without it ` +
    `(choose another audio track, or Download it for a player that decodes ${what})`;
}
