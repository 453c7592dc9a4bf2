/**
 * A TCP hop that drops each connection once it has carried `every` bytes towards the client, as a link that
 * breaks every so many megabytes would: a download through it survives only by asking again from where it was.
 */
import { connect, createServer, type AddressInfo, type Server } from 'node:net';

export class DroppingProxy {
  private readonly server: Server;
  port = 0;
  drops = 0;

  constructor(targetPort: number, every: number) {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      let carried = 0;
      for (const s of [client, upstream]) s.on('error', () => {});
      client.pipe(upstream);
      upstream.on('data', (d: Buffer) => {
        carried += d.byteLength;
        if (carried < every) return void (client.write(d) || (upstream.pause(), client.once('drain', () => upstream.resume())));
        client.write(d.subarray(0, d.byteLength - (carried - every)));
        this.drops++;
        client.destroy();
        upstream.destroy();
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  close(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}
