import { createHash } from 'node:crypto';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Connection, type ConnectionOptions } from '../../src/client/connection.js';
import { nodeSocket } from '../../src/client/node.js';
import type { Transfer } from '../../src/client/transfer.js';
import type { FerryError } from '../../src/protocol/codes.js';
import { parseAllowedHost } from '../../src/relay/core/guard.js';
import { createRelay, type Relay, type RelayOptions } from '../../src/relay/node/server.js';

export type TestRelayOptions = Partial<Omit<RelayOptions, 'config'>> & {
  allow?: string[];
  password?: string;
  adminPassword?: string;
  ticketSecret?: string;
  /** Newest first, for rotation; overrides `ticketSecret`. */
  ticketSecrets?: string[];
  allowOrigins?: string[];
  host?: string;
  metricsToken?: string;
  metricsOpen?: boolean;
  maxSockets?: number;
  maxSocketsPerAddress?: number;
  port?: number;
  decodeAudio?: boolean;
};

export async function startRelay(options: TestRelayOptions = {}): Promise<Relay> {
  const {
    allow = [], password, adminPassword, ticketSecret, ticketSecrets, allowOrigins = [], host = '127.0.0.1',
    metricsToken, metricsOpen = true, maxSockets = 1024, maxSocketsPerAddress = 128, port = 0, decodeAudio = false,
    ...rest
  } = options;
  const relay = createRelay({
    config: {
      host,
      port,
      allowHosts: allow.map(parseAllowedHost),
      password,
      adminPassword,
      noAuth: false,
      ticketSecrets: ticketSecrets ?? (ticketSecret === undefined ? [] : [ticketSecret]),
      allowOrigins,
      metricsToken,
      metricsOpen,
      maxSockets,
      maxSocketsPerAddress,
      decodeAudio,
      trustProxy: false,
      logLevel: 'silent',
      staticDir: undefined,
      demo: undefined,
    },
    log: pino({ level: 'silent' }),
    ...rest,
  });
  await relay.listen();
  return relay;
}

export function connect(relayUrl: string, options: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({ relay: relayUrl, createSocket: nodeSocket, baseDelayMs: 20, maxDelayMs: 200, ...options });
}

/** Connects with these credentials: 'ok' once welcomed, else the refusal's code. */
export async function signIn(relayUrl: string, options: Partial<ConnectionOptions> = {}): Promise<string> {
  const c = connect(relayUrl, options);
  try {
    await c.whenReady();
    return 'ok';
  } catch (err) {
    return (err as FerryError).code;
  } finally {
    c.close();
  }
}

/** A transfer's bytes, to its end. */
export async function readAll(t: Transfer): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of t) parts.push(c.data);
  return Buffer.concat(parts);
}

/** The ftyp and the moov's head of an index stream, as its open's credit pays for them; the stream is then cancelled. */
export async function indexHead(t: Transfer): Promise<Buffer> {
  const { ftypSize } = (await t.meta).index!;
  const parts: Uint8Array[] = [];
  for await (const c of t) {
    parts.push(c.data);
    const body = Buffer.concat(parts);
    if (body.byteLength >= ftypSize + 8 && body.byteLength >= ftypSize + body.readUInt32BE(ftypSize)) {
      t.cancel();
      return body.subarray(0, ftypSize + body.readUInt32BE(ftypSize));
    }
  }
  throw new Error('the index stream ended before its head');
}

/** The error a transfer ends with; one that completes fails the test. */
export async function failure(t: Transfer): Promise<FerryError> {
  try {
    await readAll(t);
  } catch (err) {
    return err as FerryError;
  }
  throw new Error('the transfer did not fail');
}

/** Reads a transfer to its end, cutting `proxy` each time the bytes received pass the next of `cutsAt` (sorted). */
export async function readThroughCuts(t: Transfer, proxy: CutProxy, cutsAt: number[]): Promise<{ received: number; sha256: string }> {
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of t) {
    hash.update(chunk.data);
    received += chunk.data.byteLength;
    while (cutsAt.length && received >= cutsAt[0]!) {
      cutsAt.shift();
      proxy.cut();
    }
  }
  return { received, sha256: hash.digest('hex') };
}

/**
 * A TCP hop between client and relay whose connections can be cut, as a flaky network would: at once
 * (`cut`), or each once it has carried `dropEvery` bytes towards the client, as a link that breaks every so
 * many megabytes would (counted in bytes, not timed, so a busy machine cuts alike).
 */
export class CutProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  cuts = 0;

  constructor(
    private targetPort: number,
    private readonly dropEvery = Infinity,
  ) {
    this.server = createServer((client) => {
      const upstream = connectTcp(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream);
      if (Number.isFinite(this.dropEvery)) this.carry(upstream, client);
      else upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  /** Relays towards the client, dropping both ends once `dropEvery` bytes have gone through. */
  private carry(upstream: Socket, client: Socket): void {
    let carried = 0;
    upstream.on('data', (d: Buffer) => {
      carried += d.byteLength;
      if (carried < this.dropEvery) return void (client.write(d) || (upstream.pause(), client.once('drain', () => upstream.resume())));
      client.write(d.subarray(0, d.byteLength - (carried - this.dropEvery)));
      this.cuts++;
      client.destroy();
      upstream.destroy();
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

  retarget(port: number): void {
    this.targetPort = port;
  }

  /** Drops every connection through the proxy at once, mid-frame if need be. */
  cut(): void {
    this.cuts++;
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

/** Writes raw bytes to the relay and returns what it answers. */
export async function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(text));
    socket.on('data', (d) => (answer += String(d)));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    setTimeout(() => socket.destroy(), 1000);
  });
}
