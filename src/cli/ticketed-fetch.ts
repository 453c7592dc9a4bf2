/**
 * A ticketed file read from the relay's HTTP side into a stream, from an offset: a connection that breaks is
 * asked again from the next byte, however many times, for as long as the attempts bring bytes; and every
 * answer must be of the version asked for.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { FerryError } from '../protocol/codes.js';
import type { Validator } from '../protocol/frames.js';
import { sameVersion, strongValidator } from '../protocol/versions.js';
import { Http1Client, type Http1Answer } from '../relay/node/http1/client.js';
import { giveBack } from '../relay/node/http1/read-buffers.js';

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

/**
 * Attempts in a row that bring no byte before giving up (about 30 s of them, with the waits between). Only
 * these count: a link that drops every 64 MB is survived however many times it drops (issue 23: counting
 * every attempt gave up a 2 GB file at its 20th drop).
 */
const MAX_FRUITLESS_ATTEMPTS = 20;

/**
 * Reads the file into `out` from `start.from`; returns the offset after its last byte. It reads with the
 * relay's own HTTP/1.1 client, whose read buffers come back once written: with a fresh 64 KiB buffer for every
 * read (undici), the page faults cost more than the file writes.
 */
export async function fetchInto(file: TicketedFile, start: FetchStart, out: Writable, progress: (written: number) => void): Promise<number> {
  // The relay is the user's own, named by them: no address is refused.
  const client = new Http1Client({ pick: async (hostname) => hostname, connectTimeoutMs: 10_000, headersTimeoutMs: 30_000 });
  let written = start.from;
  let validator = start.validator;
  let fruitless = 0;
  try {
    for (;;) {
      const before = written;
      let answer: Http1Answer | null = null;
      try {
        answer = await client.request(new URL(file.href), 'GET', written > 0 ? { range: `bytes=${written}-` } : {}, undefined, new AbortController().signal);
        const answered = checkAnswer(answer.head.status, answer.head.fields, written, validator, await errorText(answer));
        if (!validator) start.onVersion?.(answered);
        validator ??= answered;
        await copyBody(answer, out, (n) => progress((written += n)));
        if (file.total !== null && written < file.total) throw new FerryError('truncated', 'the answer ended early');
        return written;
      } catch (err) {
        answer?.destroy();
        if (err instanceof Refusal) throw err.failure;
        fruitless = written > before ? 1 : fruitless + 1;
        if (fruitless >= MAX_FRUITLESS_ATTEMPTS) throw givingUp(err, written);
        await new Promise((done) => setTimeout(done, Math.min(2000, 50 * 2 ** fruitless)));
      }
    }
  } finally {
    client.close();
  }
}

/** Why the download stops, in words: the last failure, after attempts in a row that brought nothing. */
function givingUp(err: unknown, written: number): FerryError {
  const last = err instanceof FerryError ? err : new FerryError('relay_unreachable', (err as Error).message);
  const why = `${MAX_FRUITLESS_ATTEMPTS} attempts in a row brought no byte past ${written} (the last: ${last.message})`;
  return new FerryError(last.code, `gave up: ${why}; run the same command again to continue`);
}

/** Writes an answer's body into `out`, each piece given back to its read buffer once written. */
async function copyBody(answer: Http1Answer, out: Writable, wrote: (bytes: number) => void): Promise<void> {
  for (let r = await answer.body.next(); !r.done; r = await answer.body.next()) {
    const piece = r.value;
    const room = out.write(piece, () => giveBack(piece));
    wrote(piece.byteLength);
    if (!room) await once(out, 'drain');
  }
}

/** An answer that asking again will not change. */
class Refusal extends Error {
  constructor(readonly failure: FerryError) {
    super(failure.message);
  }
}

/** The relay's sentence for a refusal (it answers in plain text), or null for an answer with the file. */
async function errorText(answer: Http1Answer): Promise<string | null> {
  if (answer.head.status < 400) return null;
  const pieces: Uint8Array[] = [];
  for (let r = await answer.body.next(); !r.done && pieces.length < 64; r = await answer.body.next()) pieces.push(r.value);
  return Buffer.concat(pieces).toString('utf8').trim().slice(0, 300);
}

/** The answer's version, once it is known to be the bytes asked for, of the version asked for. */
function checkAnswer(status: number, fields: Map<string, string>, from: number, validator: Validator | null, refusal: string | null): Validator | null {
  if (status === 412) throw new Refusal(new FerryError('source_changed', refusal ?? 'the file changed on the server'));
  if (refusal !== null) throw new Refusal(new FerryError('upstream_status', `the relay answered ${status}: ${refusal}`, status));
  if (from > 0 && status !== 206) throw new Refusal(new FerryError('range_ignored', 'the relay did not answer with the rest of the file'));
  const answered = strongValidator((name) => fields.get(name) ?? null);
  if (validator && !sameVersion(validator, answered)) {
    throw new Refusal(new FerryError('source_changed', 'the file changed on the server since the part was saved: delete the .part file to start over'));
  }
  return answered;
}
