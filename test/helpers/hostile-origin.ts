/**
 * An origin that speaks HTTP/1.1 by hand, for answers no well-behaved server would give: each request's head
 * goes to a script, which writes what it likes on the raw connection. It counts the connections open at once
 * and the most ever open, so a test can say how many the relay held.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type Answer = (head: string, socket: Socket) => void;

export class HostileOrigin {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** The most connections open at once so far. */
  peak = 0;
  /** Connections accepted so far. */
  accepted = 0;
  /** Requests answered so far (the one being answered included). */
  requests = 0;
  port = 0;

  constructor(private readonly answer: Answer) {
    this.server = createServer({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      this.accepted++;
      this.peak = Math.max(this.peak, this.sockets.size);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let pending = '';
      socket.on('data', (d: Buffer) => {
        pending += d.toString('latin1');
        for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
          const head = pending.slice(0, end);
          pending = pending.slice(end + 4);
          this.requests++;
          this.answer(head, socket);
        }
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `http://${this.hostPort}${path}`;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Drops every connection, and counts from zero again. */
  reset(): void {
    for (const s of this.sockets) s.destroy();
    this.accepted = 0;
    this.requests = 0;
    this.peak = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

/** The range a request asks for, as [start, end] (end inclusive, or null for the rest). */
export function rangeOf(head: string): [number, number | null] {
  const m = /^range: bytes=(\d+)-(\d*)$/im.exec(head);
  return m ? [Number(m[1]), m[2] ? Number(m[2]) : null] : [0, null];
}

/** Answers with `file`'s bytes, honouring a range, with a strong ETag so that the relay may pin them. */
export function serveBytes(file: Uint8Array, socket: Socket, head: string): void {
  const [start, last] = rangeOf(head);
  const end = Math.min(last ?? file.byteLength - 1, file.byteLength - 1);
  const ranged = /^range:/im.test(head);
  const status = ranged ? '206 Partial Content' : '200 OK';
  const fields = [`HTTP/1.1 ${status}`, 'content-type: video/mp4', 'accept-ranges: bytes', 'etag: "v1"', `content-length: ${end - start + 1}`];
  if (ranged) fields.push(`content-range: bytes ${start}-${end}/${file.byteLength}`);
  // One write of both (corked), and the body as a view of the file: never a copy of a film per request.
  socket.cork();
  socket.write(`${fields.join('\r\n')}\r\n\r\n`);
  socket.write(file.subarray(start, end + 1));
  socket.uncork();
}

/**
 * Writes a chunked body of one-byte chunks for as long as the reader takes them; `blocked` tells when the
 * reader has stopped taking (the kernel's buffers full for 300 ms).
 */
export function oneByteChunks(socket: Socket, blocked: () => void): void {
  socket.write('HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ntransfer-encoding: chunked\r\n\r\n');
  const block = Buffer.from('1\r\nx\r\n'.repeat(16 * 1024), 'latin1');
  let timer: NodeJS.Timeout | null = null;
  const pump = (): void => {
    if (timer) clearTimeout(timer);
    while (!socket.destroyed && socket.write(block));
    if (!socket.destroyed) {
      timer = setTimeout(blocked, 300);
      socket.once('drain', pump);
    }
  };
  socket.on('close', () => timer && clearTimeout(timer));
  pump();
}
