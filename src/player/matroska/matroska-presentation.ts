/**
 * A Matroska or WebM file as the MSE engine plays it: which tracks play first (the default-flagged one of
 * each kind that this browser plays, else one in the browser's language, else the first), every audio track
 * for the menu, its text subtitles as text tracks (image ones listed as not shown), and its Cues, read by
 * range once the first frame shows, for seeks.
 */
import { FerryError } from '../../protocol/codes.js';
import type { BufferPool } from '../buffer-pool.js';
import type { AudioChoiceInfo, PlayedTrack, Presentation, TextTrackInfo } from '../container.js';
import { inLanguage } from '../languages.js';
import { partialNotice } from '../codecs.js';
import { swappedAudio } from '../playable-audio.js';
import type { RangeOpener } from '../media-loader.js';
import type { CueIndex } from './cues.js';
import type { MatroskaHead, MatroskaTrack } from './head.js';
import { MatroskaDemuxer, textKind } from './matroska-demuxer.js';
import { readAttachedFonts, readMatroskaCues } from './read-head.js';
import { trackForm, type TrackForm } from './track-codecs.js';
import { TrackOutput } from './track-output.js';
import { convertedForm, type Converts } from '../convert/support.js';

export interface MatroskaFile {
  head: MatroskaHead;
  /** The Cues, when they came with the head. */
  cues: CueIndex | null;
}

interface Candidate {
  track: MatroskaTrack;
  form: TrackForm;
}

export class MatroskaPresentation implements Presentation {
  readonly demuxer: MatroskaDemuxer;
  tracks: PlayedTrack[];
  readonly texts: TextTrackInfo[];
  private readonly candidates: Candidate[];
  private outputs: TrackOutput[];
  private index: CueIndex | null;
  private reading: Promise<number> | null = null;
  private sequence = 1;

  constructor(
    private readonly file: MatroskaFile,
    private readonly openAt: RangeOpener,
    private readonly pool: BufferPool,
    /** Whether this browser's MSE takes a type. */
    private readonly takes: (mime: string) => boolean,
    /** Which audio tracks are converted in the page (their codec is one MSE here does not play). */
    converts: Converts = () => false,
  ) {
    const { head } = file;
    this.index = file.cues;
    this.candidates = head.tracks
      .filter((t) => t.type === 'video' || t.type === 'audio')
      .map((track) => ({ track, form: trackForm(track, head.timestampScale, takes) }))
      .map(({ track, form }) => {
        const converting = track.type === 'audio' && converts(form);
        return { track, form: converting ? converted(track, form, head) : form };
      });
    const played = [firstPlayable(this.candidates, 'video', takes), firstPlayable(this.candidates, 'audio', takes)];
    this.outputs = played.filter((c): c is Candidate => c !== null).map((c) => this.output(c));
    this.tracks = this.outputs.map(playedTrack);
    const texts = head.tracks.filter((t) => t.type === 'subtitle' && textKind(t.codecId) !== null);
    const at = head.attachmentsOffset;
    // Read each time an ASS track starts to be drawn, and let go once handed to libass: never held here.
    const fonts = at === null ? null : (): Promise<Uint8Array[]> => readAttachedFonts(openAt, at);
    this.texts = textInfos(texts, fonts);
    const readable = texts.filter((t) => textKind(t.codecId) !== 'image');
    this.demuxer = new MatroskaDemuxer(head, this.outputs, readable, () => this.index);
  }

  get duration(): number {
    return this.file.head.duration ?? Infinity;
  }

  get start(): number {
    return 0;
  }

  audioChoices(): AudioChoiceInfo[] {
    return this.candidates
      .filter((c) => c.track.type === 'audio')
      .map(({ track, form }) => ({
        id: track.number,
        language: track.language,
        name: track.name,
        codec: form.codec,
        mime: form.init ? form.mime : `audio/x-unplayable; codecs="${form.codec}"`,
        channels: track.channels,
        ...(form.conversion && { converted: true }),
      }));
  }

  swapAudio(id: number): { old: PlayedTrack; track: PlayedTrack } | null {
    const old = this.outputs.find((o) => o.track.type === 'audio');
    const choice = this.candidates.find((c) => c.track.number === id && c.track.type === 'audio' && c.form.init);
    if (!old || !choice || old.track.number === id) return null;
    const output = this.output(choice);
    this.demuxer.replaceOutput(old, output);
    this.outputs = this.outputs.map((o) => (o === old ? output : o));
    const before = this.tracks.find((t) => t.id === old.track.number)!;
    const track = playedTrack(output);
    this.tracks = this.tracks.map((t) => (t === before ? track : t));
    return { old: before, track };
  }

  /** A default audio track this browser cannot play is named, when another plays in its place. */
  check(notice: (text: string) => void): FerryError | number {
    const audio = this.candidates.filter((c) => c.track.type === 'audio');
    const wanted = audio.find((c) => c.track.default) ?? audio[0];
    const playing = this.tracks.find((t) => t.kind === 'audio');
    const language = this.candidates.find((c) => c.track.number === playing?.id)?.track.language ?? null;
    if (wanted && playing && wanted.track.number !== playing.id && !this.takes(wanted.form.mime)) {
      notice(swappedAudio(wanted.form, { language, codec: playing.codec }));
    }
    if (wanted && !playing) notice(partialNotice([{ kind: 'audio', codec: wanted.form.codec }]));
    return Infinity;
  }

  waitsFor(time: number): boolean {
    return time > 0 && this.index === null && this.file.head.cuesOffset !== null && this.reading === null;
  }

  complete(): Promise<number> | null {
    const { head } = this.file;
    if (this.index || head.cuesOffset === null || this.reading) return null;
    const track = this.outputs.find((o) => o.track.type === 'video') ?? this.outputs[0];
    this.reading = readMatroskaCues(this.openAt, head.cuesOffset, head.segmentStart, track?.track.number ?? 0).then(
      (index) => {
        this.index = index;
        return Infinity;
      },
    );
    return this.reading;
  }

  close(): void {
    this.reading?.catch(() => {});
  }

  private output({ track, form }: Candidate): TrackOutput {
    return new TrackOutput(track, form, 1e9 / this.file.head.timestampScale, this.pool, () => this.sequence++);
  }
}

function playedTrack(o: TrackOutput): PlayedTrack {
  const { track, form } = o;
  return {
    id: track.number,
    kind: track.type === 'video' ? 'video' : 'audio',
    codec: form.codec,
    mime: form.mime,
    init: form.init!,
    ...(form.conversion && { conversion: form.conversion }),
  };
}

/** The form of a track converted in the page: fragments of its own frames in MP4, for an Opus SourceBuffer. */
function converted(track: MatroskaTrack, form: TrackForm, head: MatroskaHead): TrackForm {
  const sound = { sampleRate: track.sampleRate, channels: track.channels };
  const opus = convertedForm(track.number, form.codec, sound, 1e9 / head.timestampScale);
  return opus ? { ...form, form: 'mp4', ...opus } : form;
}

/**
 * The track of `kind` that plays first, of those this browser plays: the default-flagged one, else one in the
 * browser's language, else the first.
 */
function firstPlayable(all: Candidate[], kind: 'video' | 'audio', takes: (mime: string) => boolean): Candidate | null {
  const playable = all.filter((c) => c.track.type === kind && c.form.init && takes(c.form.mime));
  return playable.find((c) => c.track.default) ?? inLanguage(playable, (c) => c.track.language) ?? playable[0] ?? null;
}

/**
 * The subtitle tracks as the captions menu lists them, by name or language; the menu tells tracks apart by
 * label, so a label already given is numbered ("eng", "eng 2": mkvmerge's test file has eight SubRip tracks).
 */
function textInfos(tracks: MatroskaTrack[], fonts: (() => Promise<Uint8Array[]>) | null): TextTrackInfo[] {
  const given = new Map<string, number>();
  return tracks.map((t, k) => {
    const name = t.name ?? t.language ?? `Subtitles ${k + 1}`;
    const seen = (given.get(name) ?? 0) + 1;
    given.set(name, seen);
    const unique = seen > 1 ? `${name} ${seen}` : name;
    const label = textKind(t.codecId) === 'image' ? `${unique} (pictures, not shown)` : unique;
    const info = { id: t.number, language: t.language, label, forced: t.forced };
    const header = textKind(t.codecId) === 'ass' && t.codecPrivate ? new TextDecoder().decode(t.codecPrivate) : null;
    return header ? { ...info, assHeader: header, ...(fonts && { assFonts: fonts }) } : info;
  });
}
