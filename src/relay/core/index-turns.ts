/**
 * Turns at building index streams (mp4-index.ts), shared fairly. Building is CPU work (coding the moov) and
 * upstream reads that two cores do no faster side by side, so the relay builds at most RELAY_TURNS at once; a
 * turn is held only while the work runs, never while a stream waits for its reader's credit. Within that,
 * one socket builds at most SOCKET_TURNS at once and one client network (/24, /64) NETWORK_TURNS, so a client
 * that opens dozens of index streams on a slow origin waits behind its own, not in front of everyone else's
 * (issue 23: 24 streams without credit held the 8 turns 20 s each, and another user's start got no meta).
 */
import { Gate } from './gate.js';
import { addressPrefix } from './socket-quota.js';

const RELAY_TURNS = 8;
const NETWORK_TURNS = 4;
const SOCKET_TURNS = 2;

const relay = new Gate(RELAY_TURNS);
/** Each network's gate, with the sockets that share it. */
const networks = new Map<string, { gate: Gate; sockets: number }>();

/** One socket's way into the builds: its own turn first, then its network's, then the relay's. */
export class IndexTurns {
  private readonly own = new Gate(SOCKET_TURNS);
  private readonly prefix: string;
  private readonly network: Gate;
  private closed = false;

  constructor(remote: string) {
    this.prefix = addressPrefix(remote);
    const shared = networks.get(this.prefix) ?? { gate: new Gate(NETWORK_TURNS), sockets: 0 };
    shared.sockets++;
    networks.set(this.prefix, shared);
    this.network = shared.gate;
  }

  /** Resolves with the way out once every gate has a turn; rejects if `signal` aborts first. */
  async enter(signal: AbortSignal): Promise<() => void> {
    const exits: (() => void)[] = [];
    const leave = (): void => exits.forEach((exit) => exit());
    try {
      for (const gate of [this.own, this.network, relay]) exits.push(await gate.enter(signal));
    } catch (err) {
      leave();
      throw err;
    }
    return leave;
  }

  /** The socket is gone: its network's gate goes too once no socket shares it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const shared = networks.get(this.prefix)!;
    if (--shared.sockets === 0) networks.delete(this.prefix);
  }
}
