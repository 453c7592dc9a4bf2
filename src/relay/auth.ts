/**
 * Passwords and their throttle. Both credentials are compared in constant time (through fixed-length digests,
 * so neither the content nor the length leaks). Failures are counted per remote address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { FerryError } from '../protocol/codes.js';

export type Role = 'user' | 'admin';

export interface AuthOptions {
  password: string | undefined;
  adminPassword: string | undefined;
  /** Failed attempts allowed per address within the window before it is refused outright. */
  maxFailures?: number;
  windowMs?: number;
  now?: () => number;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const matches = (given: string | undefined, expected: Buffer | undefined): boolean =>
  given !== undefined && expected !== undefined && timingSafeEqual(digest(given), expected);

export class Auth {
  private readonly password: Buffer | undefined;
  private readonly admin: Buffer | undefined;
  private readonly failures = new Map<string, { count: number; since: number }>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: AuthOptions) {
    this.password = options.password ? digest(options.password) : undefined;
    this.admin = options.adminPassword ? digest(options.adminPassword) : undefined;
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  get required(): boolean {
    return this.password !== undefined;
  }

  /** Returns the role the credentials earn, or throws `auth_required`, `auth_refused` or `auth_throttled`. */
  authenticate(remote: string, password: string | undefined, admin: string | undefined): Role {
    const entry = this.failures.get(remote);
    if (entry && this.now() - entry.since > this.windowMs) this.failures.delete(remote);
    if ((this.failures.get(remote)?.count ?? 0) >= this.maxFailures) {
      throw new FerryError('auth_throttled', `too many wrong passwords from this address; try again in ${Math.ceil(this.windowMs / 1000)} s`);
    }
    const adminOk = matches(admin, this.admin);
    const userOk = !this.password || matches(password, this.password) || adminOk;
    if (admin !== undefined && !adminOk) return this.fail(remote, 'wrong admin credential');
    if (!userOk) return password === undefined && admin === undefined ? this.refuse('auth_required') : this.fail(remote, 'wrong password');
    return adminOk ? 'admin' : 'user';
  }

  private refuse(code: 'auth_required'): never {
    throw new FerryError(code);
  }

  private fail(remote: string, message: string): never {
    const entry = this.failures.get(remote) ?? { count: 0, since: this.now() };
    entry.count++;
    this.failures.set(remote, entry);
    // Forget the oldest address once the map is large, so a spray of addresses cannot grow it without bound.
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
    throw new FerryError('auth_refused', message);
  }
}
