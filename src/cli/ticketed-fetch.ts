/**
 * A ticketed file read from the relay's HTTP side into a stream, from an offset: a connection that breaks is
 * asked again from the next byte (20 times at most), and every answer must be of the version asked for.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { errors as undiciErrors, request } from 'undici';
import { FerryError } from '../protocol/codes.js';
import type { Validator } from '../protocol/frames.js';
import { sameVersion, strongValidator } from '../protocol/versions.js';

export interface TicketedFile {
  /** The relay's /save/ URL for the file. */
  href: string;
  total: number | null;
}

export interface FetchStart {
  from: number;
  /** The version the bytes before `from` are of; null to take the first answer's. */
  validator: Validator | null;
  /** Told the version once the first answer has come, before any byte is written. */
  onVersion?: (validator: Validator | null) => void;
}

const MAX_ATTEMPTS = 20;

/** Reads the file into `out` from `start.from`; returns the offset after its last byte. */
export async function fetchInto(file: TicketedFile, start: FetchStart, out: Writable, progress: (written: number) => void): Promise<number> {
  let written = start.from;
  let validator = start.validator;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await request(file.href, { headers: written > 0 ? { range: `bytes=${written}-` } : {}, highWaterMark: 4 * 1024 * 1024 });
      const answered = checkAnswer(res.statusCode, res.headers, written, validator, await errorText(res));
      if (!validator) start.onVersion?.(answered);
      validator ??= answered;
      for await (const chunk of res.body) {
        if (!out.write(chunk)) await once(out, 'drain');
        written += (chunk as Buffer).byteLength;
        progress(written);
      }
      if (file.total !== null && written < file.total) throw new undiciErrors.SocketError('the answer ended early');
      return written;
    } catch (err) {
      if (err instanceof FerryError || attempt >= MAX_ATTEMPTS) throw err;
      await new Promise((done) => setTimeout(done, Math.min(2000, 50 * 2 ** attempt)));
    }
  }
}

type Headers = Record<string, string | string[] | undefined>;
const headerOf = (h: Headers) => (name: string): string | null => {
  const v = h[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
};

/** The relay's sentence for a refusal (it answers in plain text), or null for an answer with the file. */
async function errorText(res: { statusCode: number; body: { text(): Promise<string> } }): Promise<string | null> {
  return res.statusCode >= 400 ? (await res.body.text()).trim().slice(0, 300) : null;
}

/** The answer's version, once it is known to be the bytes asked for, of the version asked for. */
function checkAnswer(status: number, headers: Headers, from: number, validator: Validator | null, refusal: string | null): Validator | null {
  if (status === 412) throw new FerryError('source_changed', refusal ?? 'the file changed on the server');
  if (refusal !== null) throw new FerryError('upstream_status', `the relay answered ${status}: ${refusal}`, status);
  if (from > 0 && status !== 206) throw new FerryError('range_ignored', 'the relay did not answer with the rest of the file');
  const answered = strongValidator(headerOf(headers));
  if (validator && !sameVersion(validator, answered)) throw new FerryError('source_changed', 'the file changed on the server since the part was saved: delete the .part file to start over');
  return answered;
}
