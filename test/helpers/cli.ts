/** `ferry` as a user runs it: a real process from the sources, its exit code and what it wrote. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const TSX = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = join(process.cwd(), 'src/cli/main.ts');

/**
 * `closeOutputAfter`: bytes of standard output read before closing it, as `| head -c N` does; `cwd`: the
 * folder it runs in (the repository's by default).
 */
export function ferry(args: string[], closeOutputAfter?: number, cwd?: string): Promise<{ code: number; stderr: string; stdout: Buffer }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd && { cwd }) });
    let stderr = '';
    const stdout: Buffer[] = [];
    let read = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout.push(d);
      read += d.byteLength;
      if (closeOutputAfter !== undefined && read >= closeOutputAfter) child.stdout.destroy();
    });
    child.on('close', (code) => done({ code: code ?? -1, stderr, stdout: Buffer.concat(stdout) }));
  });
}
