/**
 * Which web pages may use the relay. A WebSocket handshake is not subject to CORS, so without this check any
 * site the user visits could open `ws://127.0.0.1:8080/ws` and use a loopback relay as its own. Two checks:
 *
 * - Host: a request must name the relay by an IP address, `localhost`, or a name the operator configured.
 *   A DNS-rebinding page (evil.example resolving to 127.0.0.1) reaches us with `Host: evil.example`.
 * - Origin: a browser's request must come from the relay's own page (same host and port as the Host it
 *   asked for) or an origin the operator allowed. Programs such as `ferry get` send no Origin at all.
 *
 * Plain values in, a refusal sentence out: no runtime specifics, so any edge can apply it.
 */
import ipaddr from 'ipaddr.js';

export interface SiteRequest {
  host: string | undefined;
  origin: string | undefined;
  /** The Fetch Metadata header a browser adds: 'same-origin', 'same-site', 'cross-site' or 'none'. */
  fetchSite: string | undefined;
}

/** Normalises `http://Name:80` to `http://name`, as browsers write an Origin; null if it is not one. */
function normaliseOrigin(raw: string): string | null {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** The host name of a Host header (`name:port`, `[v6]:port`, `a.b.c.d`), lower-cased, without its port. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

/** The Host header as a URL's host (default port dropped), to compare with an Origin's. */
function sameHost(host: string): string | null {
  try {
    return new URL(`http://${host}`).host;
  } catch {
    return null;
  }
}

export class SitePolicy {
  private readonly origins: Set<string>;
  private readonly names: Set<string>;

  /**
   * @param listenHost the address or name the relay listens on
   * @param allowedOrigins pages besides the relay's own that may use it (e.g. `https://ferry.example.com`
   *   when a proxy serves the relay under that name); their host names become acceptable Host headers too
   */
  constructor(listenHost: string, allowedOrigins: readonly string[]) {
    this.origins = new Set();
    this.names = new Set(['localhost']);
    if (!ipaddr.isValid(listenHost)) this.names.add(listenHost.toLowerCase());
    for (const raw of allowedOrigins) {
      const origin = normaliseOrigin(raw);
      if (!origin) throw new Error(`not an http(s) origin: ${raw}`);
      this.origins.add(origin);
      this.names.add(new URL(origin).hostname.replace(/^\[|\]$/g, ''));
    }
  }

  /** Why a request naming this Host is refused (DNS rebinding), or null. */
  hostRefusal(host: string | undefined): string | null {
    if (!host) return 'the request names no host';
    const name = hostName(host);
    if (ipaddr.isValid(name) || this.names.has(name)) return null;
    return `this relay does not answer to the name ${name.slice(0, 100)}; its operator can allow it with --allow-origin http://${name.slice(0, 100)} (or https://)`;
  }

  /**
   * Why a browser request from this Origin may not use the relay's socket, or null. Browsers always send an
   * Origin with a WebSocket handshake; a request without one is a program (`ferry get`), which no page can
   * steer, so it may name the relay however it likes.
   */
  originRefusal(req: SiteRequest): string | null {
    if (req.origin === undefined) return null;
    const hostIssue = this.hostRefusal(req.host);
    if (hostIssue) return hostIssue;
    const origin = normaliseOrigin(req.origin);
    if (origin && (this.origins.has(origin) || new URL(origin).host === sameHost(req.host!))) return null;
    return `pages from ${req.origin.slice(0, 100)} may not use this relay; its operator can allow them with --allow-origin`;
  }

  /**
   * Why a `/save/` request is refused: one a foreign page started (its Origin, or Fetch Metadata saying
   * cross-site). The download manager's own requests, a typed address and the relay's page pass.
   */
  downloadRefusal(req: SiteRequest): string | null {
    const refusal = this.hostRefusal(req.host) ?? this.originRefusal(req);
    if (refusal) return refusal;
    if (req.origin === undefined && (req.fetchSite === 'cross-site' || req.fetchSite === 'same-site')) {
      return 'download links work only from the relay’s own page';
    }
    return null;
  }
}
