/**
 * A counting gate: holders take a weight (1, or a size in bytes) of its capacity; the rest wait in order, and
 * may give up waiting. A weight above the whole capacity is let in alone, when the gate is empty.
 */
import { FerryError } from '../../protocol/codes.js';

interface Waiter { weight: number; go: () => void }

export class Gate {
  private used = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly capacity: number) {}

  /** Resolves with the way out (callable more than once) when there is room; rejects if `signal` aborts first. */
  async enter(signal: AbortSignal, weight = 1): Promise<() => void> {
    if (this.waiting.length === 0 && this.fits(weight)) this.used += weight;
    else await this.wait(signal, weight);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.used -= weight;
      this.admit();
    };
  }

  private fits(weight: number): boolean {
    return this.used + weight <= this.capacity || this.used === 0;
  }

  /** Lets in, in order, those who now fit. */
  private admit(): void {
    while (this.waiting.length && this.fits(this.waiting[0]!.weight)) {
      const next = this.waiting.shift()!;
      this.used += next.weight;
      next.go();
    }
  }

  private wait(signal: AbortSignal, weight: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        weight,
        go: () => {
          signal.removeEventListener('abort', gone);
          resolve();
        },
      };
      const gone = (): void => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        this.admit();
        reject(new FerryError('cancelled'));
      };
      this.waiting.push(waiter);
      signal.addEventListener('abort', gone, { once: true });
    });
  }
}
