/** What a connection to a relay is given, and the states it reports. */
import type { FerryError } from '../protocol/codes.js';
import type { EarlyStart } from './early-start.js';
import type { SocketFactory } from './socket.js';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionOptions {
  /** ws:// or wss:// address of the relay's socket, e.g. ws://127.0.0.1:8080/ws */
  relay: string;
  password?: string;
  admin?: string;
  /** A device key the relay gave before (see `onDeviceKey`): it stands in for the password. */
  deviceKey?: string;
  /** The relay gave a device key, to keep and pass as `deviceKey` next time. */
  onDeviceKey?: (key: string) => void;
  /** A request the relay has not answered (meta, ticket or error) this long after it was sent fails. */
  answerTimeoutMs?: number;
  createSocket?: SocketFactory;
  /** A socket the page opened before its script ran, to take over as the first one (early-start.ts). */
  early?: EarlyStart;
  /** First backoff delay; doubles up to `maxDelayMs`, each delay drawn at random below its cap. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Reconnect attempts in a row before every transfer fails with `relay_unreachable`. */
  maxAttempts?: number;
  onState?: (state: ConnectionState, detail?: FerryError) => void;
}

/** The wait before reconnect attempt `attempt` (from 0): exponential, capped, with full jitter in its upper half. */
export function backoffDelay(options: Pick<ConnectionOptions, 'baseDelayMs' | 'maxDelayMs'>, attempt: number): number {
  const cap = Math.min(options.maxDelayMs ?? 5000, (options.baseDelayMs ?? 200) * 2 ** attempt);
  return cap / 2 + Math.random() * (cap / 2);
}
