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

/** A picture of the top half of the page's video, as the screen shows it (with whatever is drawn over it). */
export async function topOfVideo(page: Page): Promise<Buffer> {
  const box = (await page.locator('video').boundingBox())!;
  return page.screenshot({ clip: { x: box.x, y: box.y, width: box.width, height: box.height / 2 } });
}

/**
 * Pixels that are yellow in `after` and were not in `before` (two pictures of the same place, such as
 * topOfVideo's): where yellow subtitles were drawn between the two.
 */
export function newlyYellow(page: Page, before: Buffer, after: Buffer): Promise<number> {
  return page.evaluate(
    async ([a, b]: [string, string]) => {
      const pixels = async (base64: string): Promise<Uint8ClampedArray> => {
        const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const context = canvas.getContext('2d')!;
        context.drawImage(bitmap, 0, 0);
        return context.getImageData(0, 0, bitmap.width, bitmap.height).data;
      };
      const [was, now] = [await pixels(a), await pixels(b)];
      const yellow = (p: Uint8ClampedArray, k: number): boolean => p[k]! > 200 && p[k + 1]! > 200 && p[k + 2]! < 100;
      let count = 0;
      for (let k = 0; k < now.length; k += 4) if (yellow(now, k) && !yellow(was, k)) count++;
      return count;
    },
    [before.toString('base64'), after.toString('base64')] as [string, string],
  );
}
