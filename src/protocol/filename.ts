/** A safe file name for a download: from Content-Disposition, else the URL's last path segment. */

export function fileNameFromUrl(raw: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(raw).pathname.split('/').pop() ?? '');
  } catch {
    segment = '';
  }
  return sanitize(segment);
}

/** The name a Content-Disposition header gives (filename* first, as RFC 6266 says), or null. */
export function fileNameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return sanitize(decodeURIComponent(extended[1]!.trim())) || null;
    } catch {
      // fall through to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(header);
  const name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2]?.trim();
  return name ? sanitize(name) || null : null;
}

export function suggestedName(url: string, disposition: string | null): string {
  return fileNameFromDisposition(disposition) ?? fileNameFromUrl(url);
}

function sanitize(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  const clean = (name.split(/[\\/]/).pop() ?? '').replace(/[:*?"<>|\0-\x1f]/g, '_').replace(/^\.+/, '').trim().slice(0, 200);
  return clean || 'download';
}
