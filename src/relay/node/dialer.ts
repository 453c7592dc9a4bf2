/**
 * Node edge: the guard's choice of address for every TCP connection upstream. DNS is resolved here, every
 * answer is checked, and the connection is pinned to a checked address (the hostname stays for TLS: SNI and
 * the certificate's check). IP literals never reach a lookup, so they are checked here too. The relay's
 * HTTP/1.1 client (http1/) dials the address chosen.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { FerryError } from '../../protocol/codes.js';
import type { DestinationPolicy } from '../core/guard.js';

export interface ResolvedAddress { address: string; family: number }
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export interface DialerOptions {
  policy: DestinationPolicy;
  resolver?: Resolver;
}

/** The address to dial for a host name and port, or a FerryError saying why none may be. */
export type PickAddress = (hostname: string, port: number) => Promise<string>;

export function addressPicker(options: DialerOptions): PickAddress {
  const resolver = options.resolver ?? systemResolver;
  return async function pick(hostname, port) {
    const allowed = options.policy.isAllowed(hostname, port);
    if (isIP(hostname)) {
      if (!allowed) options.policy.checkAddress(hostname);
      return hostname;
    }
    let answers: ResolvedAddress[];
    try {
      answers = await resolver(hostname);
    } catch (err) {
      throw new FerryError('dns_failed', `the host name ${hostname} could not be resolved (${(err as NodeJS.ErrnoException).code ?? 'no answer'})`);
    }
    if (answers.length === 0) throw new FerryError('dns_failed', `the host name ${hostname} has no address`);
    // One private answer refuses the whole name: a name that mixes them is a rebinding attempt or a mistake.
    if (!allowed) for (const a of answers) options.policy.checkAddress(a.address);
    return answers[0]!.address;
  };
}
