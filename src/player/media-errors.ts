/** A media element's failure in words: the relay's reason when it refused, else what the element reports. */
import { FerryError } from '../protocol/codes.js';

/** What the relay answers for a ticket path, when it refuses it; null when it serves it (or cannot be asked). */
export async function relayRefusal(src: string): Promise<FerryError | null> {
  if (!src || src.startsWith('blob:')) return null;
  try {
    const res = await fetch(src, { headers: { range: 'bytes=0-0' }, cache: 'no-store' });
    if (res.ok) {
      await res.body?.cancel();
      return null;
    }
    const text = (await res.text()).trim().slice(0, 300);
    const code = res.status === 412 ? 'source_changed' : res.status === 410 ? 'cancelled' : res.status === 403 ? 'ticket_invalid' : 'upstream_error';
    return new FerryError(code, text || undefined);
  } catch {
    return new FerryError('relay_unreachable');
  }
}

export function mediaErrorOf(error: MediaError, type: string | null): FerryError {
  switch (error.code) {
    case MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED:
      return new FerryError('unsupported_codec', `this browser cannot play this file${type ? ` (${type})` : ''}`);
    case MediaError.MEDIA_ERR_DECODE:
      return new FerryError('media_error', 'the browser could not decode this file; it may be damaged');
    case MediaError.MEDIA_ERR_NETWORK:
      return new FerryError('relay_unreachable', 'the connection to the relay broke while playing');
    default:
      return new FerryError('media_error');
  }
}
