/**
 * Where `ferry get` writes, decided before a byte comes. A regular file (or none yet) is written as FILE.part
 * beside it and renamed over it once whole, so a run cut short leaves the old file as it was and a later run
 * continues the part; through a symlink, that is the file it points to, and the link stays. Anything else
 * (a device such as /dev/null, a named pipe, /dev/stdout) is written straight into, never replaced: renaming a
 * 2 GB part over /dev/null, as root, had turned the device node into a regular file (issue 23).
 */
import { realpathSync, statSync } from 'node:fs';
import { FerryError } from '../protocol/codes.js';

export type Output =
  /** A regular file, to write by its part and rename. */
  | { kind: 'file'; path: string }
  /** Something that is not a regular file: written into as it is, with no part and no resume. */
  | { kind: 'stream'; path: string }
  /** Standard output (`-o -`). */
  | { kind: 'stdout' };

/**
 * The output for `-o` as given (`named`), else for the name the relay gives the file: an existing file of
 * that name is never replaced unasked, as a browser would not replace it.
 */
export function chooseOutput(named: string | undefined, suggested: string): Output {
  if (named === '-') return { kind: 'stdout' };
  const path = named ?? suggested;
  // stat follows symlinks: what is written is what the name leads to.
  const found = statSync(path, { throwIfNoEntry: false });
  if (!found) return { kind: 'file', path };
  if (!found.isFile()) return { kind: 'stream', path };
  if (named === undefined) {
    const how = `give -o ${path} to replace it, or another name with -o`;
    throw new FerryError('bad_request', `${path} already exists: ${how}`);
  }
  return { kind: 'file', path: realpathSync(path) };
}
