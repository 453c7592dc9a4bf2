/**
 * What the page's audio conversion hands to the buffers, heard back: the Opus fragments each conversion
 * worker sends are recorded as they come (a wrapper of the page's Worker, installed before its scripts), then
 * decoded in the page by WebCodecs at the times their fragments carry, and the beeps found in them.
 */
import type { Page } from 'playwright-core';

/** Records every fragment a conversion worker sends, with its worker's number and generation. */
export async function recordConversions(page: Page): Promise<void> {
  await page.addInitScript(() => {
    type Recorded = { worker: number; generation: number; data: ArrayBuffer };
    const w = window as unknown as { converted: Recorded[]; Worker: typeof Worker };
    w.converted = [];
    let workers = 0;
    const Original = w.Worker;
    w.Worker = class extends Original {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        if (!String(url).includes('conversion')) return;
        const worker = workers++;
        this.addEventListener('message', (e: MessageEvent) => {
          const m = e.data as { type: string; generation: number; data: ArrayBuffer };
          // Copied at once: the page gives the buffer to its pool once appended.
          if (m.type === 'fragment') w.converted.push({ worker, generation: m.generation, data: m.data.slice(0) });
        });
      }
    };
  });
}

/** A beep heard in converted sound: when it starts (seconds of the film), and the run it is in. */
export interface Onset {
  run: string;
  at: number;
}

/**
 * The beeps' starts in every run of converted sound recorded so far (a run: one worker's one generation), each
 * found where the sound rises above a third of the run's peak after 50 ms below it.
 */
export function beepOnsets(page: Page): Promise<Onset[]> {
  return page.evaluate(async () => {
    const recorded = (window as unknown as { converted: { worker: number; generation: number; data: ArrayBuffer }[] })
      .converted;
    const runs = new Map<string, { dts: number; duration: number; data: Uint8Array }[]>();
    for (const f of recorded) {
      const b = new Uint8Array(f.data);
      const v = new DataView(f.data);
      const find = (type: string): number => {
        for (let i = 0; i + 8 <= b.length; i++) if (String.fromCharCode(...b.subarray(i + 4, i + 8)) === type) return i;
        return -1;
      };
      const tfdt = find('tfdt');
      const trun = find('trun');
      if (tfdt < 0 || trun < 0) continue;
      let dts = v.getUint32(tfdt + 12) * 2 ** 32 + v.getUint32(tfdt + 16);
      const count = v.getUint32(trun + 12);
      let at = find('moof') + v.getInt32(trun + 16);
      const samples = runs.get(`${f.worker}/${f.generation}`) ?? [];
      for (let k = 0; k < count; k++) {
        const duration = v.getUint32(trun + 20 + 16 * k);
        const size = v.getUint32(trun + 24 + 16 * k);
        samples.push({ dts, duration, data: b.slice(at, at + size) });
        at += size;
        dts += duration;
      }
      runs.set(`${f.worker}/${f.generation}`, samples);
    }
    const onsets: { run: string; at: number }[] = [];
    for (const [run, samples] of runs) {
      const pcm: { at: number; plane: Float32Array }[] = [];
      const decoder = new AudioDecoder({
        output: (d) => {
          const plane = new Float32Array(d.numberOfFrames);
          d.copyTo(plane, { planeIndex: 0, format: 'f32-planar' });
          pcm.push({ at: d.timestamp / 1e6, plane });
          d.close();
        },
        error: (e) => console.error(e),
      });
      decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 2 });
      for (const s of samples) {
        const timestamp = Math.round((s.dts / 48000) * 1e6);
        const duration = (s.duration / 48) * 1000;
        decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp, duration, data: s.data }));
      }
      await decoder.flush();
      let peak = 0;
      for (const { plane } of pcm) for (const x of plane) peak = Math.max(peak, Math.abs(x));
      let lastLoud = -Infinity;
      for (const { at, plane } of pcm) {
        for (let i = 0; i < plane.length; i++) {
          if (Math.abs(plane[i]!) <= peak / 3) continue;
          const t = at + i / 48000;
          if (t - lastLoud >= 0.05) onsets.push({ run, at: t });
          lastLoud = t;
        }
      }
    }
    return onsets;
  });
}
