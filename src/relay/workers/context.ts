/**
 * What every request of one Workers isolate shares: the core's parts, built once from the Worker's
 * settings. Memory is the isolate's 128 MB, shared by all its sockets and downloads, so the limits are
 * smaller than the Node relay's (docs/deploy.md).
 */
import { MAX_STREAMS_PER_SOCKET } from '../../protocol/limits.js';
import { Auth } from '../core/auth.js';
import { Downloads } from '../core/downloads.js';
import { DestinationPolicy, parseAllowedHost } from '../core/guard.js';
import { QueueBudget } from '../core/queue-budget.js';
import { IdleStreams } from '../core/idle-streams.js';
import { MIN_SECRET_LENGTH, settingList } from '../core/settings.js';
import type { Logger } from '../core/log.js';
import type { RelayMetrics } from '../core/metrics.js';
import type { Session, SessionContext, SessionLimits } from '../core/session.js';
import { TicketSealer } from '../core/ticket.js';
import { createFetchUpstream } from './upstream.js';

/** The Worker's variables and secrets: the Node relay's environment names. */
export interface FerryEnv {
  FERRY_PASSWORD?: string;
  FERRY_ADMIN_PASSWORD?: string;
  FERRY_TICKET_SECRET?: string;
  FERRY_TICKET_SECRET_PREVIOUS?: string;
  FERRY_ALLOW_ORIGINS?: string;
  /** Hosts the guard lets through although their address is private; for a local `wrangler dev` only. */
  FERRY_ALLOW_HOSTS?: string;
  /** "1" to run without a password, as `--no-auth` does. */
  FERRY_NO_AUTH?: string;
  /** info (the default), warn or silent. */
  FERRY_LOG_LEVEL?: string;
  /** Ms an upstream may send nothing before its stream fails with `upstream_timeout` (default 30000). */
  FERRY_IDLE_MS?: string;
}

/**
 * Per socket: 8 streams holding 4 MiB of credit each is 32 MiB at most, so three sockets at full credit fit
 * an isolate's 128 MB beside the runtime. A Worker's request may have 6 connections out at once; a seventh
 * fetch waits for one to close, and streams without credit give theirs back (IdleStreams).
 */
export const WORKERS_LIMITS: SessionLimits = {
  maxStreams: Math.min(8, MAX_STREAMS_PER_SOCKET),
  heldCreditBytes: 4 * 1024 * 1024,
  socketQueueBytes: 8 * 1024 * 1024,
  maxQueuedBytes: 16 * 1024 * 1024,
  idleMs: 30_000,
  creditIdleMs: 20_000,
  helloTimeoutMs: 10_000,
  maxProtocolErrors: 50,
};

/** Workers count requests in their own dashboard; counters of one isolate would show only its share. */
const uncounted = { inc: () => {}, dec: () => {} };
const METRICS: RelayMetrics = {
  sockets: uncounted, streams: uncounted, streamsOpened: uncounted, streamsParked: uncounted, downloads: uncounted,
  bytes: uncounted, authFailures: uncounted, socketsClosed: uncounted, error: () => {},
};

/** One JSON line per event at or above `level`, which the Workers log shows as it is. */
function consoleLog(level: string, bindings: object = {}): Logger {
  const line = (at: 'info' | 'warn', obj: object, msg?: string): string => JSON.stringify({ level: at, ...bindings, ...obj, msg });
  return {
    info: (obj, msg) => level === 'info' && console.log(line('info', obj, msg)),
    warn: (obj, msg) => level !== 'silent' && console.warn(line('warn', obj, msg)),
    child: (more) => consoleLog(level, { ...bindings, ...more }),
  };
}

export type Isolate = { ctx: SessionContext; allowOrigins: string[] } | { refusal: string };

/** The isolate's parts, and the settings they were built from. */
let built: { settings: string; isolate: Isolate } | null = null;

/**
 * The parts every request of this isolate shares, built on the first request. Keyed by the settings' values,
 * not by the `env` object, which the runtime does not promise to keep from one request to the next.
 */
export function isolateContext(env: FerryEnv): Isolate {
  const settings = JSON.stringify(Object.entries(env).filter(([name]) => name.startsWith('FERRY_')).sort());
  if (built?.settings !== settings) built = { settings, isolate: build(env) };
  return built.isolate;
}

/** The settings checked as `ferry serve` checks them; a Worker that would run unsafe says why, to every request. */
function build(env: FerryEnv): Isolate {
  const secrets = [env.FERRY_TICKET_SECRET, env.FERRY_TICKET_SECRET_PREVIOUS].filter((s): s is string => s !== undefined && s !== '');
  // Every isolate must open every other's tickets: a random key per isolate would not.
  const least = MIN_SECRET_LENGTH;
  if (!secrets[0] || secrets.some((s) => s.length < least['ticket secret'])) return { refusal: `this relay is not set up: FERRY_TICKET_SECRET must be a secret of at least ${least['ticket secret']} characters` };
  if (!env.FERRY_PASSWORD && env.FERRY_NO_AUTH !== '1') return { refusal: 'this relay is not set up: give it a FERRY_PASSWORD secret, or FERRY_NO_AUTH=1 to run open' };
  for (const [name, kind] of [['FERRY_PASSWORD', 'password'], ['FERRY_ADMIN_PASSWORD', 'admin password']] as const) {
    const value = env[name];
    if (value !== undefined && value.length < least[kind]) return { refusal: `this relay is not set up: ${name} needs at least ${least[kind]} characters` };
  }
  const policy = new DestinationPolicy(settingList(env.FERRY_ALLOW_HOSTS).map(parseAllowedHost));
  const log = consoleLog(env.FERRY_LOG_LEVEL ?? 'info', { svc: 'ferry-relay-workers' });
  const idleMs = Number(env.FERRY_IDLE_MS ?? WORKERS_LIMITS.idleMs);
  if (!(idleMs > 0)) return { refusal: `this relay is not set up: FERRY_IDLE_MS must be a number of milliseconds, not ${env.FERRY_IDLE_MS}` };
  const limits = { ...WORKERS_LIMITS, idleMs };
  const openUpstream = createFetchUpstream(policy);
  const auth = new Auth({ password: env.FERRY_PASSWORD || undefined, adminPassword: env.FERRY_ADMIN_PASSWORD || undefined, keySecret: secrets[0] });
  const downloads = new Downloads({ sealer: new TicketSealer(secrets), openUpstream, metrics: METRICS, log, idleMs });
  const ctx: SessionContext = {
    auth, downloads, openUpstream, log, metrics: METRICS, limits,
    idleStreams: new IdleStreams(16),
    // An isolate's sockets together queue 32 MiB at most beyond 512 KiB each.
    queueBudget: new QueueBudget(32 * 1024 * 1024, 512 * 1024),
    registry: new Map<string, Session>(),
  };
  return { ctx, allowOrigins: settingList(env.FERRY_ALLOW_ORIGINS) };
}
