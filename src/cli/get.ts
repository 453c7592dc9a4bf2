/**
 * `ferry get`: download through a relay to a file (or, with `-o -`, to standard output). Bytes go to
 * FILE.part as they arrive, with the version they belong to in FILE.part.json, so a later run continues where
 * this one stopped and never mixes versions; what is not a regular file is written straight into (output.ts).
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Connection } from '../client/connection.js';
import { safeFileName } from '../protocol/filename.js';
import { nodeSocket } from '../client/node.js';
import type { Validator } from '../protocol/frames.js';
import { fetchInto, type TicketedFile } from './ticketed-fetch.js';
import { chooseOutput } from './output.js';
import { ProgressBar } from './progress.js';

export const GET_HELP = `ferry get URL: download through a relay

  -o, --output FILE       where to save; - for standard output. An existing FILE is replaced once the
                          download is whole (as curl does); a device or a pipe (/dev/null) is written into.
                          Without -o: the name the server gives the file (after redirects), never
                          replacing a file of that name
  --relay URL             the relay's socket (FERRY_RELAY, default ws://127.0.0.1:8080/ws)
  --password-file FILE    the relay's password (FERRY_PASSWORD holds the password itself)
  -q, --quiet             no progress bar
  -h, --help              this text

The password is checked over the relay's socket, which issues a ticket; the file then comes from the
relay's /save/ path over HTTP, asked again from the next byte when a connection breaks. An interrupted
download is continued by running the same command again.
`;

interface PartState { url: string; validator: Validator | null; total: number | null }

export async function runGet(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      relay: { type: 'string' },
      'password-file': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(GET_HELP);
    return values.help ? 0 : 2;
  }
  const url = positionals[0]!;
  const password = values['password-file'] ? readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '') : env.FERRY_PASSWORD;
  const relay = values.relay ?? env.FERRY_RELAY ?? 'ws://127.0.0.1:8080/ws';
  const connection = new Connection({ relay, ...(password && { password }), createSocket: nodeSocket, maxAttempts: 20 });
  const bar = new ProgressBar(process.stderr);
  const progress = (written: number, total: number | null): void => void (!values.quiet && bar.update(written, total));
  try {
    const file = await ticketed(connection, relay, url);
    const output = chooseOutput(values.output, file.name);
    const { from, written } =
      output.kind === 'stdout' ? await toStream(file, process.stdout, progress)
      : output.kind === 'stream' ? await toStream(file, createWriteStream(output.path), progress)
      : await toFile(file, url, output.path, progress);
    const where = output.kind === 'stdout' ? 'to standard output' : output.path;
    if (!values.quiet) process.stderr.write(`saved ${where}: ${bar.finish(written, from)}\n`);
    return 0;
  } catch (err) {
    bar.finish(0);
    const e = err as { code?: string; message: string };
    process.stderr.write(`ferry get: ${e.message}${e.code ? ` (${e.code})` : ''}\n`);
    return 1;
  } finally {
    connection.close();
  }
}

type Progress = (written: number, total: number | null) => void;
/** Where the file stood before this run, and after. */
interface Written { from: number; written: number }

/**
 * The file's address on the relay's HTTP side: a ticket asked for over the socket, where the password is
 * checked and the relay reads the file's headers. The bytes then come by plain HTTP, as a browser's download
 * manager takes them: no frames and no credits, at about half the relay's CPU and twice the rate.
 */
async function ticketed(connection: Connection, relay: string, url: string): Promise<TicketedFile & { name: string }> {
  const ticket = await connection.download(url).whenTicketed();
  const href = new URL(ticket.path, relay.replace(/^ws/, 'http')).href;
  return { href, total: ticket.total, name: safeFileName(ticket.name) };
}

/** To FILE.part, with its version in FILE.part.json, renamed to FILE once whole; continues an earlier run's part. */
async function toFile(file: TicketedFile, url: string, output: string, progress: Progress): Promise<Written> {
  const part = `${output}.part`;
  const stateFile = `${part}.json`;
  const { offset, validator } = resumePoint(url, part, stateFile);
  // Writes queue up to 8 MiB, so the next chunks are read while one is being written.
  const out = createWriteStream(part, { ...(offset > 0 ? { flags: 'r+', start: offset } : { flags: 'w' }), highWaterMark: 8 * 1024 * 1024 });
  const version = (v: Validator | null): void => writeFileSync(stateFile, JSON.stringify({ url, validator: v, total: file.total } satisfies PartState));
  const written = await fetchInto(file, { from: offset, validator: validator ?? null, onVersion: version }, out, (n) => progress(n, file.total));
  out.end();
  await once(out, 'finish');
  renameSync(part, output);
  rmSync(stateFile, { force: true });
  return { from: offset, written };
}

/**
 * Into a stream as it is: standard output (`-o -`, as curl writes) or what is no regular file (a device, a
 * pipe). No part file, so a later run starts over.
 */
async function toStream(file: TicketedFile, out: Writable, progress: Progress): Promise<Written> {
  const closed = new Promise<never>((_, fail) => {
    out.once('error', (err: NodeJS.ErrnoException) => fail(outputFailure(err)));
  });
  const fetching = fetchInto(file, { from: 0, validator: null }, out, (n) => progress(n, file.total));
  const written = await Promise.race([fetching, closed]);
  // What a pipe has not taken yet would be lost when the process exits: its last write's callback says when.
  await Promise.race([new Promise((done) => out.write('', done)), closed]);
  if (out !== process.stdout) out.end();
  return { from: 0, written };
}

function outputFailure(err: NodeJS.ErrnoException): Error {
  if (err.code === 'EPIPE') return new Error('the output was closed before the end');
  return new Error(`the output cannot be written (${err.code ?? err.message})`);
}

/** Where an earlier run of the same command stopped, if its part file is of the same URL and has a version. */
function resumePoint(url: string, part: string, stateFile: string): { offset: number; validator: Validator | undefined } {
  if (!existsSync(part) || !existsSync(stateFile)) return { offset: 0, validator: undefined };
  const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as PartState;
  if (saved.url !== url || !saved.validator) return { offset: 0, validator: undefined };
  return { offset: statSync(part).size, validator: saved.validator };
}
