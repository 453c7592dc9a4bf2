/**
 * How many WebSockets the relay holds: in all, and per client network. Sockets cost a file descriptor and a
 * little memory each, so without a cap one client can open enough idle ones to lock everyone else out.
 * Counted per /24 (IPv4) or /64 (IPv6), since one machine usually holds many addresses of one such prefix.
 */
import ipaddr from 'ipaddr.js';

/** The network a client address belongs to, for counting: `a.b.c.0/24` or the first four groups `/64`. */
export function addressPrefix(remote: string): string {
  if (!ipaddr.isValid(remote)) return remote;
  const address = ipaddr.process(remote);
  if (address.kind() === 'ipv4') return `${address.toByteArray().slice(0, 3).join('.')}.0/24`;
  return `${(address as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}

export type QuotaRefusal = 'relay full' | 'address full';

export class SocketQuota {
  private total = 0;
  private readonly perPrefix = new Map<string, number>();

  constructor(
    private readonly maxSockets: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Takes a place for a socket from `remote`, or says why there is none. */
  admit(remote: string): QuotaRefusal | null {
    const prefix = addressPrefix(remote);
    const held = this.perPrefix.get(prefix) ?? 0;
    if (this.total >= this.maxSockets) return 'relay full';
    if (held >= this.maxPerAddress) return 'address full';
    this.total++;
    this.perPrefix.set(prefix, held + 1);
    return null;
  }

  release(remote: string): void {
    const prefix = addressPrefix(remote);
    const held = this.perPrefix.get(prefix) ?? 0;
    this.total--;
    if (held <= 1) this.perPrefix.delete(prefix);
    else this.perPrefix.set(prefix, held - 1);
  }
}
