/** A transfer's progress in words and a bar, for the terminal (and any text line). */

const MB = 1024 * 1024;

export function formatProgress(done: number, total: number | null, bytesPerSecond: number, width = 30): string {
  const speed = `${(bytesPerSecond / MB).toFixed(1)} MB/s`;
  if (!total) return `${(done / MB).toFixed(1)} MB · ${speed}`;
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  const left = bytesPerSecond > 0 ? Math.ceil((total - done) / bytesPerSecond) : null;
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const sizes = `${(done / MB).toFixed(0)}/${(total / MB).toFixed(0)} MB`;
  return `${bar} ${(ratio * 100).toFixed(1)}% ${sizes} · ${speed}${left !== null ? ` · ${left} s left` : ''}`;
}
