/** `ferry` as a user runs it: a real process from the sources, its exit code and what it wrote. */
import { spawn } from 'node:child_process';

/** `closeOutputAfter`: bytes of standard output read before closing it, as `| head -c N` does. */
export function ferry(args: string[], closeOutputAfter?: number): Promise<{ code: number; stderr: string; stdout: Buffer }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
