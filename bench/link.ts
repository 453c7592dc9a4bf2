/**
 * A network link emulated in user space (the kernel's netem is not available here): a loopback TCP proxy
 * whose two directions each have a rate shared by all connections, a one-way delay, and a bounded queue that
 * pauses the senders (backpressure). Bytes enter each direction in arrival order, leave it at the link's rate,
 * and are delivered `delayMs` later by one timer per direction, so no connection's bytes are ever reordered
 * (a timer per chunk would reorder them: timers of different lengths that fall due together fire in any order).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface LinkProfile {
  name: string;
  /** One-way delay, each direction. */
  delayMs: number;
  /** Bits per second, each direction. */
  bitsPerSecond: number;
}

export const PROFILES: LinkProfile[] = [
  { name: '20 ms, 100 Mbit/s', delayMs: 20, bitsPerSecond: 100e6 },
  { name: '50 ms, 20 Mbit/s', delayMs: 50, bitsPerSecond: 20e6 },
];

/** A link's buffer: beyond this many bytes waiting to leave, senders are paused. */
const QUEUE_BYTES = 512 * 1024;

interface Packet { to: Socket; data: Buffer | null; deliverAt: number }

/** One direction of the link. */
class Direction {
  private readonly queue: Packet[] = [];
  private head = 0;
  /** When the link has finished sending what it holds. */
  private freeAt = 0;
  private waiting = 0;
  private readonly paused = new Set<Socket>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly profile: LinkProfile) {}

  /** `data` from `from`, for `to`; null is the sender's end of stream, delivered after its bytes. */
  send(from: Socket, to: Socket, data: Buffer | null): void {
    const now = performance.now();
    const bytes = data?.byteLength ?? 0;
    this.freeAt = Math.max(now, this.freeAt) + (bytes * 8 * 1000) / this.profile.bitsPerSecond;
    this.queue.push({ to, data, deliverAt: this.freeAt + this.profile.delayMs });
    this.waiting += bytes;
    if (this.waiting > QUEUE_BYTES && data) {
      from.pause();
      this.paused.add(from);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.head >= this.queue.length) return;
    const wait = Math.max(0, this.queue[this.head]!.deliverAt - performance.now());
    this.timer = setTimeout(() => this.deliver(), wait);
  }

  private deliver(): void {
    this.timer = null;
    const now = performance.now();
    while (this.head < this.queue.length && this.queue[this.head]!.deliverAt <= now + 0.5) {
      const p = this.queue[this.head++]!;
      this.waiting -= p.data?.byteLength ?? 0;
      if (p.data) p.to.write(p.data);
      else p.to.end();
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.waiting <= QUEUE_BYTES / 2) {
      for (const s of this.paused) s.resume();
      this.paused.clear();
    }
    this.schedule();
  }
}

/** The link between a browser and one server (the relay, or the origin for the plain video). */
export class Link {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(targetPort: number, profile: LinkProfile) {
    const up = new Direction(profile);
    const down = new Direction(profile);
    this.server = createServer({ noDelay: true }, (client) => {
      const server = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
      for (const s of [client, server]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          server.destroy();
        });
      }
      client.on('data', (d: Buffer) => up.send(client, server, d));
      client.on('end', () => up.send(client, server, null));
      server.on('data', (d: Buffer) => down.send(server, client, d));
      server.on('end', () => down.send(server, client, null));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
