/** Settings from the command line and the environment (the command line wins). */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllowedHost, type AllowedHost } from './guard.js';

export interface RelayConfig {
  host: string;
  port: number;
  allowHosts: AllowedHost[];
  password: string | undefined;
  adminPassword: string | undefined;
  noAuth: boolean;
  /** Signs download tickets; relays behind one address need the same one (defaults to the password). */
  ticketSecret: string | undefined;
  /** Take the client address from X-Forwarded-For (only behind a proxy you run). */
  trustProxy: boolean;
  logLevel: string;
  /** Folder with the built page. */
  staticDir: string | undefined;
  /** A local video the page opens on when no URL is given, served by its own origin and fetched through the relay. */
  demo: string | undefined;
}

export const SERVE_HELP = `ferry serve: run the relay and its page

  --host HOST               address to listen on (FERRY_HOST, default 127.0.0.1)
  --port PORT               port to listen on (FERRY_PORT, default 8080)
  --allow-host HOST[:PORT]  let the relay reach this host even though its address is private or
                            loopback; repeatable (FERRY_ALLOW_HOSTS, comma-separated)
  --password-file FILE      clients must send this password (FERRY_PASSWORD holds the password itself)
  --admin-password-file F   a separate credential that may list and cancel every transfer
                            (FERRY_ADMIN_PASSWORD)
  --ticket-secret-file F    signs download links; every relay behind one address needs the same
                            (FERRY_TICKET_SECRET; default: the password, else one per relay)
  --no-auth                 allow listening on a non-loopback address without a password
  --trust-proxy             take client addresses from X-Forwarded-For (FERRY_TRUST_PROXY=1); only
                            behind a reverse proxy you run, or anyone can dodge the password throttle
  --log-level LEVEL         fatal, error, warn, info, debug or silent (FERRY_LOG_LEVEL, default info)
  --demo FILE               open the page on this local video (npm start uses .media/demo.mp4)
  -h, --help                this text
`;

const readSecret = (file: string): string => readFileSync(file, 'utf8').replace(/\r?\n$/, '');

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv): RelayConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      'password-file': { type: 'string' },
      'admin-password-file': { type: 'string' },
      'no-auth': { type: 'boolean' },
      'ticket-secret-file': { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      'log-level': { type: 'string' },
      'static-dir': { type: 'string' },
      demo: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const port = Number(values.port ?? env.FERRY_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0 to 65535, not ${values.port ?? env.FERRY_PORT}`);
  const allowSpecs = values['allow-host'] ?? (env.FERRY_ALLOW_HOSTS ?? '').split(',').filter((s) => s.trim() !== '');
  const config: RelayConfig = {
    host: values.host ?? env.FERRY_HOST ?? '127.0.0.1',
    port,
    allowHosts: allowSpecs.map(parseAllowedHost),
    password: values['password-file'] ? readSecret(values['password-file']) : env.FERRY_PASSWORD || undefined,
    adminPassword: values['admin-password-file'] ? readSecret(values['admin-password-file']) : env.FERRY_ADMIN_PASSWORD || undefined,
    noAuth: values['no-auth'] ?? false,
    ticketSecret: values['ticket-secret-file'] ? readSecret(values['ticket-secret-file']) : env.FERRY_TICKET_SECRET || undefined,
    trustProxy: values['trust-proxy'] ?? env.FERRY_TRUST_PROXY === '1',
    logLevel: values['log-level'] ?? env.FERRY_LOG_LEVEL ?? 'info',
    staticDir: values['static-dir'],
    demo: values.demo,
  };
  if (!isLoopback(config.host) && !config.password && !config.noAuth) {
    throw new Error(`refusing to listen on ${config.host} without a password: give --password-file, or --no-auth to run open`);
  }
  return config;
}
