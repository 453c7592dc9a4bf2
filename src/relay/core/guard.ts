/**
 * The SSRF guard: the relay dials only public unicast addresses, except host:port pairs the operator opened.
 * The policy is checked on the address actually dialled (see node/dialer.ts), so a hostname that resolves to a
 * private address, a DNS answer that changes between lookups, or a redirect to a private host is refused alike.
 */
import ipaddr from 'ipaddr.js';
import { FerryError } from '../../protocol/codes.js';

export interface AllowedHost {
  host: string;
  /** Undefined: any port of that host. */
  port: number | undefined;
}

/** Parses `HOST[:PORT]`, `[V6]:PORT` or a bare IPv6 address. */
export function parseAllowedHost(spec: string): AllowedHost {
  const trimmed = spec.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : undefined };
  if (ipaddr.IPv6.isValid(trimmed)) return { host: trimmed, port: undefined };
  const hostPort = /^([^:]+)(?::(\d+))?$/.exec(trimmed);
  if (!hostPort || hostPort[1] === '') throw new Error(`not a HOST[:PORT]: ${spec}`);
  const port = hostPort[2] ? Number(hostPort[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`bad port in ${spec}`);
  return { host: hostPort[1]!, port };
}

const normaliseHost = (host: string): string => {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return ipaddr.isValid(bare) ? ipaddr.process(bare).toString() : bare;
};

export class DestinationPolicy {
  private readonly allowed: AllowedHost[];

  constructor(allowed: readonly AllowedHost[] = []) {
    this.allowed = allowed.map((a) => ({ host: normaliseHost(a.host), port: a.port }));
  }

  /** True when the operator opened this host (as written in the URL) and port. */
  isAllowed(host: string, port: number): boolean {
    const h = normaliseHost(host);
    return this.allowed.some((a) => a.host === h && (a.port === undefined || a.port === port));
  }

  /** Throws `blocked` unless the address is public unicast. IPv4-mapped IPv6 is judged as the IPv4 it carries. */
  checkAddress(address: string): void {
    const reason = addressRefusal(address);
    if (reason) throw new FerryError('blocked', `the relay refused this address: ${address} is ${reason}`);
  }
}

/**
 * IPv6 forms that carry an IPv4 address in their last 32 bits. ipaddr.js reads `::a.b.c.d` written that way
 * as IPv4, but the same address written `::7f00:1` (as URL parsing writes it) as ordinary unicast.
 */
const EMBEDDING_IPV4: [string, number, string][] = [
  ['::', 96, 'an IPv4-compatible IPv6'],
  ['::ffff:0:0', 96, 'an IPv4-mapped IPv6'],
  ['64:ff9b::', 96, 'a NAT64'],
  ['64:ff9b:1::', 48, 'a local NAT64'],
];

/** Why an address may not be dialled, or null when it is public unicast. */
export function addressRefusal(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '');
  if (!ipaddr.isValid(bare)) return 'not an IP address';
  // process() turns ::ffff:a.b.c.d into a.b.c.d, so a mapped loopback is judged as loopback.
  const parsed = ipaddr.process(bare);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    for (const [prefix, bits, kind] of EMBEDDING_IPV4) {
      // Never dialled, whatever they embed: a relay has no business with transition forms (and 6to4,
      // Teredo and the rest are not unicast to ipaddr.js either).
      if (v6.match(ipaddr.IPv6.parse(prefix), bits)) return `${kind} address (it embeds ${embeddedIpv4(v6)})`;
    }
  }
  const range = parsed.range();
  return range === 'unicast' ? null : `${range === 'private' ? 'a private' : `a ${range}`} address`;
}

function embeddedIpv4(v6: ipaddr.IPv6): string {
  const [hi, lo] = v6.parts.slice(6) as [number, number];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function defaultPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Checks what can be checked before any DNS lookup: scheme, credentials, and literal addresses. */
export function checkUrl(raw: string, policy: DestinationPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FerryError('invalid_url', `not a valid URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FerryError('invalid_url', `only http and https are relayed, not ${url.protocol.replace(':', '')}`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.isAllowed(url.hostname, defaultPort(url)) && ipaddr.isValid(host)) policy.checkAddress(host);
  return url;
}
