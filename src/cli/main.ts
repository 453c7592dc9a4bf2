#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runGet } from './get.js';
import { runServe } from './serve.js';

const USAGE = `ferry: watch and save very large media files through your own relay

  ferry serve [options]     run the relay and its page (ferry serve --help)
  ferry get URL [options]   download through a relay (ferry get --help)
  ferry --version           the version
`;

/** The package's version, from its package.json (two folders up from src/cli and dist/cli alike). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'serve') return runServe(rest, process.env);
  if (command === 'get') return runGet(rest, process.env);
  if (command === '--version' || command === '-v') {
    process.stdout.write(`ferry ${version()}\n`);
    return 0;
  }
  process.stdout.write(USAGE);
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`ferry: ${err.message}\n`);
    process.exit(1);
  },
);
