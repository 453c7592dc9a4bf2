/** A safe file name for a download: from Content-Disposition, else the URL's last path segment. */

export function fileNameFromUrl(raw: string): string {
  let segment: string;
  try {
    segment = decodeURIComponent(new URL(raw).pathname.split('/').pop() ?? '');
  } catch {
    segment = '';
  }
  return safeFileName(segment);
}

/** The name a Content-Disposition header gives (filename* first, as RFC 6266 says), or null. */
export function fileNameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return safeFileName(decodeURIComponent(extended[1]!.trim())) || null;
    } catch {
      // fall through to the plain parameter
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(header);
  const name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2]?.trim();
  return name ? safeFileName(name) || null : null;
}

export function suggestedName(url: string, disposition: string | null): string {
  return fileNameFromDisposition(disposition) ?? fileNameFromUrl(url);
}

/**
 * Control characters, and the invisible ones that change how a name reads: bidi overrides and isolates
 * (`invoice‮fdp.exe` shows as `invoiceexe.pdf`), zero-width characters, line and paragraph separators.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

export function safeFileName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? '';
  const clean = last.replace(INVISIBLE, '').replace(/[:*?"<>|]/g, '_').replace(/^\.+/, '').trim().slice(0, 200);
  return clean || 'download';
}
