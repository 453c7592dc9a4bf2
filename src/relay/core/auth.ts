/**
 * Passwords, device keys and the guessing throttle, on Web Crypto. Credentials are compared in constant time
 * (through fixed-length digests, so neither the content nor the length leaks).
 *
 * Guessing is slowed, never locked out: wrong passwords from one network (the /24 or /64 a client address is
 * in) make that network's next attempt wait, twice as long after each failure, up to `maxDelayMs`; attempts
 * are judged one at a time per network, so parallel sockets guess no faster. Nobody can lock the owner out
 * with wrong guesses from the owner's own network either: a client that signed in once holds a device key
 * (sent in `welcome`), and a hello with a valid key is answered at once, whatever the throttle says.
 *
 * The throttle remembers at most `maxNetworks` networks, and forgets one only once it has waited out its
 * delay: forgetting the oldest at once let a guesser spraying 10 001 /64s (one /50) reset every network's
 * history, its own included (issue 23). While every record is still live, a network not in the table shares
 * one record with all such networks: a single, global rate for newcomers until records expire.
 */
import { FerryError } from '../../protocol/codes.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { addressPrefix } from './socket-quota.js';

export type Role = 'user' | 'admin';

export interface AuthOptions {
  password: string | undefined;
  adminPassword: string | undefined;
  metricsToken?: string | undefined;
  /** Shared by relays behind one address so that a device key from one is good at all; else random. */
  keySecret?: string | undefined;
  /** The wait after the first failure from a network; it doubles with each further one. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts from one network that may wait their turn; more are refused with `auth_throttled`. */
  maxWaiting?: number;
  /** Networks the throttle remembers one by one; past them, newcomers share one record. */
  maxNetworks?: number;
  now?: () => number;
}

export interface Grant {
  role: Role;
  /** Presented in a later hello instead of the password; unset on a relay without a password. */
  deviceKey: string | undefined;
}

interface Network {
  failures: number;
  /** When the next attempt from this network may be judged. */
  nextAt: number;
  /** Attempts waiting their turn; each is judged after the one before it. */
  waiting: number;
  turn: Promise<void>;
}

const DEVICE_KEY_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;
const MAX_NETWORKS = 10_000;
/** Records looked at, oldest first, for one that may be forgotten when the table is full. */
const SWEEP = 16;
const encoder = new TextEncoder();
const digest = async (s: string): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(s)));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Compares two byte strings in time that depends on their length only. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Whether `given` is the secret whose digest is `expected`: digests have one length, so neither leaks. */
async function matches(given: string | undefined, expected: Promise<Uint8Array> | undefined): Promise<boolean> {
  return given !== undefined && expected !== undefined && sameBytes(await digest(given), await expected);
}

export class Auth {
  private readonly password: Promise<Uint8Array> | undefined;
  private readonly admin: Promise<Uint8Array> | undefined;
  private readonly metricsToken: Promise<Uint8Array> | undefined;
  /** Signs device keys; it depends on the passwords, so changing one revokes every key. */
  private readonly deviceKeySecret: Promise<CryptoKey>;
  /** By last failure, the oldest first. */
  private readonly networks = new Map<string, Network>();
  /** The record every network shares that finds the table full of live ones. */
  private readonly newcomers: Network = { failures: 0, nextAt: 0, waiting: 0, turn: Promise.resolve() };
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxWaiting: number;
  private readonly maxNetworks: number;
  private readonly now: () => number;

  constructor(options: AuthOptions) {
    this.password = options.password ? digest(options.password) : undefined;
    this.admin = options.adminPassword ? digest(options.adminPassword) : undefined;
    this.metricsToken = options.metricsToken ? digest(options.metricsToken) : undefined;
    const secret = options.keySecret ?? toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    const material = encoder.encode(`ferry device key\0${secret}\0${options.password ?? ''}\0${options.adminPassword ?? ''}`);
    this.deviceKeySecret = crypto.subtle.importKey('raw', material, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.maxWaiting = options.maxWaiting ?? 8;
    this.maxNetworks = options.maxNetworks ?? MAX_NETWORKS;
    this.now = options.now ?? Date.now;
  }

  get required(): boolean {
    return this.password !== undefined;
  }

  /** Whether a bearer token may read /metrics: the metrics token or the admin credential. */
  async isMetricsReader(token: string | undefined): Promise<boolean> {
    return (await matches(token, this.metricsToken)) || (await matches(token, this.admin));
  }

  /**
   * The role the credentials earn. Rejects with `auth_required`, `auth_refused` or, when too many attempts
   * from the client's network wait already, `auth_throttled`.
   */
  async authenticate(remote: string, password: string | undefined, admin: string | undefined, deviceKey?: string): Promise<Grant> {
    // A valid key proves an earlier sign-in with the passwords as they are now.
    const keyRole = await this.roleOfKey(deviceKey);
    if (keyRole && admin === undefined) return { role: keyRole, deviceKey };
    if (!this.password && admin === undefined) return { role: 'user', deviceKey: undefined };
    if (password === undefined && admin === undefined) throw new FerryError('auth_required');
    const prefix = addressPrefix(remote);
    const network = this.network(prefix);
    if (network.waiting >= this.maxWaiting) {
      throw new FerryError('auth_throttled', `too many password attempts from this network; try again in ${Math.ceil((network.nextAt - this.now()) / 1000)} s`);
    }
    network.waiting++;
    const previous = network.turn;
    let done!: () => void;
    network.turn = new Promise((resolve) => (done = resolve));
    try {
      await previous;
      const wait = network.nextAt - this.now();
      if (wait > 0) await sleep(wait);
      return await this.judge(network, password, admin, prefix);
    } finally {
      network.waiting--;
      done();
    }
  }

  private async judge(
    network: Network,
    password: string | undefined,
    admin: string | undefined,
    prefix: string,
  ): Promise<Grant> {
    const adminOk = await matches(admin, this.admin);
    const userOk = !this.password || (await matches(password, this.password)) || adminOk;
    if ((admin !== undefined && !adminOk) || !userOk) {
      // The table stays in order of last failure, so its oldest records are the first to expire.
      if (this.networks.delete(prefix)) this.networks.set(prefix, network);
      network.failures++;
      network.nextAt = this.now() + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (network.failures - 1));
      throw new FerryError('auth_refused', admin !== undefined && !adminOk ? 'wrong admin credential' : 'wrong password');
    }
    const role: Role = adminOk ? 'admin' : 'user';
    return { role, deviceKey: this.password || this.admin ? await this.deviceKey(role) : undefined };
  }

  private network(prefix: string): Network {
    let network = this.networks.get(prefix);
    if (network && this.expired(network)) {
      this.networks.delete(prefix);
      network = undefined;
    }
    if (network) return network;
    if (this.networks.size >= this.maxNetworks) this.forgetExpired();
    if (this.networks.size >= this.maxNetworks) return this.newcomers;
    network = { failures: 0, nextAt: 0, waiting: 0, turn: Promise.resolve() };
    this.networks.set(prefix, network);
    return network;
  }

  /** Whether a record has waited out its delay with nobody queued: forgetting it changes nothing. */
  private expired(network: Network): boolean {
    return network.waiting === 0 && this.now() > network.nextAt + this.maxDelayMs;
  }

  /** Forgets the expired among the oldest records. */
  private forgetExpired(): void {
    let looked = 0;
    for (const [prefix, network] of this.networks) {
      if (looked++ >= SWEEP) break;
      if (this.expired(network)) this.networks.delete(prefix);
    }
  }

  private async deviceKey(role: Role): Promise<string> {
    const claims = `${role}.${this.now() + DEVICE_KEY_LIFETIME_MS}`;
    const mac = await crypto.subtle.sign('HMAC', await this.deviceKeySecret, encoder.encode(claims));
    return `${claims}.${toBase64Url(new Uint8Array(mac))}`;
  }

  private async roleOfKey(key: string | undefined): Promise<Role | null> {
    const m = /^(user|admin)\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(key ?? '');
    if (!m || Number(m[2]) <= this.now()) return null;
    const mac = fromBase64Url(m[3]!);
    // crypto.subtle.verify compares in constant time.
    const genuine = await crypto.subtle.verify('HMAC', await this.deviceKeySecret, mac, encoder.encode(`${m[1]}.${m[2]}`));
    return genuine ? (m[1] as Role) : null;
  }
}
