/** What a page plays, heard: the strongest frequency of the video element's sound now, through Web Audio. */

/** A page of playwright's or puppeteer's: both evaluate a function in it. */
interface Evaluates {
  evaluate(fn: () => Promise<number>): Promise<number>;
}

export const tone = (page: Evaluates): Promise<number> =>
  page.evaluate(async () => {
    const w = window as unknown as { analyser?: AnalyserNode; audio?: AudioContext };
    if (!w.analyser) {
      w.audio = new AudioContext();
      w.analyser = w.audio.createAnalyser();
      w.analyser.fftSize = 8192;
      w.audio.createMediaElementSource(document.querySelector('video')!).connect(w.analyser);
    }
    await new Promise((done) => setTimeout(done, 400));
    const bins = new Float32Array(w.analyser.frequencyBinCount);
    w.analyser.getFloatFrequencyData(bins);
    const peak = bins.indexOf(Math.max(...bins));
    return (peak * w.audio!.sampleRate) / w.analyser.fftSize;
  });
