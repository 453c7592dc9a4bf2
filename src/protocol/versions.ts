/**
 * Which version of a file an answer is, by its validators, for both halves: the relay pins a stream or a
 * ticket to its first answer's, and `ferry get` pins a part file to the answer it started from.
 */
import type { Validator } from './frames.js';

/** An answer's strong validators (a weak ETag promises no byte ranges), or null when it has none. */
export function strongValidator(header: (name: string) => string | null): Validator | null {
  const etag = header('etag');
  const lastModified = header('last-modified');
  const v: Validator = {};
  if (etag && !etag.startsWith('W/')) v.etag = etag;
  if (lastModified) v.lastModified = lastModified;
  return v.etag || v.lastModified ? v : null;
}

/** Whether an answer's validators say it is the version asked for: by ETag when there is one. */
export function sameVersion(asked: Validator, got: Validator | null): boolean {
  if (asked.etag) return got?.etag === asked.etag;
  if (asked.lastModified) return got?.lastModified === asked.lastModified;
  return true;
}
