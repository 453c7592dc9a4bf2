/** Settings from the command line and the environment (the command line wins). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllowedHost, type AllowedHost } from '../core/guard.js';
import { MIN_SECRET_LENGTH, settingList, type SecretKind } from '../core/settings.js';

export interface RelayConfig {
  host: string;
  port: number;
  allowHosts: AllowedHost[];
  password: string | undefined;
  adminPassword: string | undefined;
  noAuth: boolean;
  /**
   * Keys download tickets: the first seals new ones, every one opens them (so a secret can be rotated).
   * Relays behind one address need the same; empty: a random key per relay.
   */
  ticketSecrets: string[];
  /** Pages besides the relay's own that may use it; their host names are accepted in Host headers. */
  allowOrigins: string[];
  /** A bearer token for /metrics besides the admin credential. */
  metricsToken: string | undefined;
  /** /metrics needs no credential: true when the relay listens on loopback only. */
  metricsOpen: boolean;
  /** WebSockets open at once, in all and from one client address (the /24 or /64 it is in). */
  maxSockets: number;
  maxSocketsPerAddress: number;
  /** Take the client address from X-Forwarded-For (only behind a proxy you run). */
  trustProxy: boolean;
  logLevel: string;
  /** Folder with the built page. */
  staticDir: string | undefined;
  /** A local video the page opens on when no URL is given, served by its own origin and fetched through the relay. */
  demo: string | undefined;
  /** Decode, for pages, sound no page can (TrueHD) with ffmpeg: the pages' packets in, stereo out. */
  decodeAudio: boolean;
}

export const SERVE_HELP = `ferry serve: run the relay and its page

  --host HOST               address to listen on (FERRY_HOST, default 127.0.0.1)
  --port PORT               port to listen on (FERRY_PORT, default 8080)
  --allow-host HOST[:PORT]  let the relay reach this host even though its address is private or
                            loopback; repeatable (FERRY_ALLOW_HOSTS, comma-separated)
  --password-file FILE      clients must send this password (FERRY_PASSWORD holds the password itself)
  --admin-password-file F   a separate credential that may list and cancel every transfer
                            (FERRY_ADMIN_PASSWORD)
  --ticket-secret-file F    seals download links; every relay behind one address needs the same;
                            at least 32 characters (FERRY_TICKET_SECRET; default: a random key per
                            relay). Give it twice to rotate: the first seals, both open
                            (FERRY_TICKET_SECRET_PREVIOUS opens only).
  --allow-origin ORIGIN     let pages from this origin use the relay, and accept its name in the Host
                            header, e.g. https://ferry.example.com behind a proxy; repeatable
                            (FERRY_ALLOW_ORIGINS, comma-separated). The relay's own page always may.
  --metrics-token-file F    a bearer token for /metrics besides the admin credential; /metrics is
                            open without one only on a loopback relay (FERRY_METRICS_TOKEN)
  --max-sockets N           WebSockets open at once (FERRY_MAX_SOCKETS, default 1024)
  --max-sockets-per-address N  from one client address, counted per /24 (IPv4) or /64 (IPv6)
                            (FERRY_MAX_SOCKETS_PER_ADDRESS, default 128)
  --no-auth                 allow listening on a non-loopback address without a password
  --trust-proxy             take client addresses from X-Forwarded-For (FERRY_TRUST_PROXY=1); only
                            behind a reverse proxy you run, or anyone can dodge the password throttle
  --log-level LEVEL         fatal, error, warn, info, debug or silent (FERRY_LOG_LEVEL, default info)
  --demo FILE               open the page on this local video (npm start uses .media/demo.mp4)
  --decode-audio            decode TrueHD sound for pages, which cannot, with ffmpeg on this machine;
                            one process per film playing, up to one per core (FERRY_DECODE_AUDIO=1)
  -h, --help                this text
`;

/** An empty or short secret would silently mean no password, or a guessable key: refuse to start instead. */
function checkSecret(kind: SecretKind, value: string, source: string): string {
  if (value.length < MIN_SECRET_LENGTH[kind]) {
    throw new Error(`the ${kind} in ${source} is ${value.length === 0 ? 'empty' : 'too short'}: it needs at least ${MIN_SECRET_LENGTH[kind]} characters`);
  }
  return value;
}

/** The secret from its file (flag) or its environment variable; undefined when neither is given. */
function secret(kind: SecretKind, file: string | undefined, env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (file !== undefined) return checkSecret(kind, readFileSync(file, 'utf8').replace(/\r?\n$/, ''), file);
  const value = env[name];
  return value === undefined ? undefined : checkSecret(kind, value, name);
}

function count(flag: string, raw: string | undefined, fallback: number): number {
  const n = Number(raw ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a whole number above 0, not ${raw}`);
  return n;
}

/** The ticket secrets, newest first: every --ticket-secret-file, else the two environment variables. */
function ticketSecrets(files: string[], env: NodeJS.ProcessEnv): string[] {
  if (files.length > 0) return files.map((file) => secret('ticket secret', file, env, '')!);
  return ['FERRY_TICKET_SECRET', 'FERRY_TICKET_SECRET_PREVIOUS'].map((name) => secret('ticket secret', undefined, env, name)).filter((s) => s !== undefined);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const SERVE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  'password-file': { type: 'string' },
  'admin-password-file': { type: 'string' },
  'no-auth': { type: 'boolean' },
  'ticket-secret-file': { type: 'string', multiple: true },
  'allow-origin': { type: 'string', multiple: true },
  'metrics-token-file': { type: 'string' },
  'max-sockets': { type: 'string' },
  'max-sockets-per-address': { type: 'string' },
  'trust-proxy': { type: 'boolean' },
  'log-level': { type: 'string' },
  'static-dir': { type: 'string' },
  demo: { type: 'string' },
  'decode-audio': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv): RelayConfig | 'help' {
  const { values } = parseArgs({ args: argv, options: SERVE_OPTIONS, strict: true });
  if (values.help) return 'help';
  const port = Number(values.port ?? env.FERRY_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0 to 65535, not ${values.port ?? env.FERRY_PORT}`);
  const allowSpecs = values['allow-host'] ?? settingList(env.FERRY_ALLOW_HOSTS);
  const host = values.host ?? env.FERRY_HOST ?? '127.0.0.1';
  const config: RelayConfig = {
    host,
    port,
    allowHosts: allowSpecs.map(parseAllowedHost),
    password: secret('password', values['password-file'], env, 'FERRY_PASSWORD'),
    adminPassword: secret('admin password', values['admin-password-file'], env, 'FERRY_ADMIN_PASSWORD'),
    noAuth: values['no-auth'] ?? false,
    ticketSecrets: ticketSecrets(values['ticket-secret-file'] ?? [], env),
    allowOrigins: values['allow-origin'] ?? settingList(env.FERRY_ALLOW_ORIGINS),
    metricsToken: secret('metrics token', values['metrics-token-file'], env, 'FERRY_METRICS_TOKEN'),
    metricsOpen: isLoopback(host),
    maxSockets: count('max-sockets', values['max-sockets'] ?? env.FERRY_MAX_SOCKETS, 1024),
    maxSocketsPerAddress: count('max-sockets-per-address', values['max-sockets-per-address'] ?? env.FERRY_MAX_SOCKETS_PER_ADDRESS, 128),
    trustProxy: values['trust-proxy'] ?? env.FERRY_TRUST_PROXY === '1',
    logLevel: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info',
    staticDir: values['static-dir'],
    demo: values.demo,
    decodeAudio: values['decode-audio'] ?? env.FERRY_DECODE_AUDIO === '1',
  };
  if (!isLoopback(config.host) && !config.password && !config.noAuth) {
    throw new Error(`refusing to listen on ${config.host} without a password: give --password-file, or --no-auth to run open`);
  }
  return config;
}
