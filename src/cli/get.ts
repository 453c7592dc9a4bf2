/**
 * `ferry get`: download through a relay to a file. Bytes go to FILE.part as they arrive, with the version
 * they belong to in FILE.part.json, so a later run continues where this one stopped and never mixes versions.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Connection } from '../client/connection.js';
import { fileNameFromUrl } from '../protocol/filename.js';
import { nodeSocket } from '../client/node.js';
import type { Transfer } from '../client/transfer.js';
import type { Validator } from '../protocol/frames.js';
import { ProgressBar } from './progress.js';

export const GET_HELP = `ferry get URL: download through a relay

  -o, --output FILE       where to save (default: the URL's last path segment)
  --relay URL             the relay's socket (FERRY_RELAY, default ws://127.0.0.1:8080/ws)
  --password-file FILE    the relay's password (FERRY_PASSWORD holds the password itself)
  -q, --quiet             no progress bar
  -h, --help              this text

An interrupted download is continued by running the same command again.
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
  const output = values.output ?? fileNameFromUrl(url);
  const part = `${output}.part`;
  const stateFile = `${part}.json`;
  const password = values['password-file'] ? readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '') : env.FERRY_PASSWORD;

  const { offset, validator } = resumePoint(url, part, stateFile);

  const connection = new Connection({
    relay: values.relay ?? env.FERRY_RELAY ?? 'ws://127.0.0.1:8080/ws',
    ...(password && { password }),
    createSocket: nodeSocket,
    maxAttempts: 20,
  });
  const transfer = connection.open({ url, offset, ...(validator && { validator }) });
  const bar = new ProgressBar(process.stderr, offset);
  try {
    const meta = await transfer.meta;
    writeFileSync(stateFile, JSON.stringify({ url, validator: meta.validator, total: meta.total } satisfies PartState));
    const written = await writeFrom(transfer, part, offset, (n) => !values.quiet && bar.update(n, meta.total));
    if (meta.total !== null && written !== meta.total) throw new Error(`the download ended at ${written} of ${meta.total} bytes`);
    renameSync(part, output);
    rmSync(stateFile, { force: true });
    if (!values.quiet) process.stderr.write(`saved ${output}: ${bar.finish(written)}\n`);
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

/** Where an earlier run of the same command stopped, if its part file is of the same URL and has a version. */
function resumePoint(url: string, part: string, stateFile: string): { offset: number; validator: Validator | undefined } {
  if (!existsSync(part) || !existsSync(stateFile)) return { offset: 0, validator: undefined };
  const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as PartState;
  if (saved.url !== url || !saved.validator) return { offset: 0, validator: undefined };
  return { offset: statSync(part).size, validator: saved.validator };
}

/** Writes the transfer into the part file from `offset`; returns the bytes the file then holds. */
async function writeFrom(transfer: Transfer, part: string, offset: number, progress: (written: number) => void): Promise<number> {
  const file = createWriteStream(part, offset > 0 ? { flags: 'r+', start: offset } : { flags: 'w' });
  let written = offset;
  for await (const chunk of transfer) {
    if (!file.write(chunk.data)) await once(file, 'drain');
    written += chunk.data.byteLength;
    progress(written);
  }
  file.end();
  await once(file, 'finish');
  return written;
}
