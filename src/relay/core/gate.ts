/** A counting gate: at most `size` holders at once; the rest wait in order, and may give up waiting. */
import { FerryError } from '../../protocol/codes.js';

export class Gate {
  private holders = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /** Resolves with the way out (callable more than once) when there is room; rejects if `signal` aborts first. */
  async enter(signal: AbortSignal): Promise<() => void> {
    // A full gate hands a leaving holder's place straight to the first in line.
    if (this.holders < this.size) this.holders++;
    else await this.wait(signal);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.holders--;
    };
  }

  private wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const go = (): void => {
        signal.removeEventListener('abort', gone);
        resolve();
      };
      const gone = (): void => {
        this.waiting.splice(this.waiting.indexOf(go), 1);
        reject(new FerryError('cancelled'));
      };
      this.waiting.push(go);
      signal.addEventListener('abort', gone, { once: true });
    });
  }
}
