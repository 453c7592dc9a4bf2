/** What the captions show in a page's video: the suites of subtitles read it the same way. */
import type { Page } from 'playwright-core';

/** The cue on screen: its text, and its line and alignment where it sets a line. */
export function shownCue(page: Page): Promise<{ text: string; settings: string } | null> {
  return page.evaluate(() => {
    const showing = [...document.querySelector('video')!.textTracks].find((tr) => tr.mode === 'showing');
    const cue = showing?.activeCues?.[0] as VTTCue | undefined;
    return cue ? { text: cue.text, settings: cue.line === 'auto' ? '' : `line ${cue.line} ${cue.align}` } : null;
  });
}

/** Seeks to `t` and returns the text of the cue then showing, or null, once the picture there is ready. */
export async function cueAt(page: Page, t: number): Promise<string | null> {
  await page.evaluate((time) => (document.querySelector('video')!.currentTime = time), t);
  await page.waitForFunction(
    () => !document.querySelector('video')!.seeking && document.querySelector('video')!.readyState >= 2,
  );
  return (await shownCue(page))?.text ?? null;
}
