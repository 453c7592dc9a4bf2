/**
 * Deadlines for the relay's first answer to each request, by request id. Cleared when the answer comes and
 * when the connection closes: left to run out, each would keep its request, and through it the connection,
 * alive for a minute (a load bench of a few hundred short transfers lost a fifth of its throughput to that).
 */
export class Deadlines {
  private readonly timers = new Map<number, ReturnType<typeof setTimeout>>();

  set(id: number, ms: number, expired: () => void): void {
    this.clear(id);
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        expired();
      }, ms),
    );
  }

  clear(id: number): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  clearAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
