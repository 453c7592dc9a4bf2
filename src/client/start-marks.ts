/**
 * The steps of a page's first start, as User Timing marks (`ferry:STEP`), for bench:timeline to lay out from
 * navigation to playback moving (issue 26). Each step is marked once per page, at its first time (a page
 * plays one film after another); a mark costs about a microsecond.
 */
const marked = new Set<string>();

export function markStart(step: string): void {
  if (marked.has(step) || typeof performance === 'undefined' || !performance.mark) return;
  marked.add(step);
  // The page's inline lines (index.html) mark the socket's first steps under the same names.
  if (performance.getEntriesByName(`ferry:${step}`).length === 0) performance.mark(`ferry:${step}`);
}
