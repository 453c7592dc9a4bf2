/**
 * Node edge of the upstream: the requests themselves, through the relay's own HTTP/1.1 client (http1/), which
 * dials the address the guard chose and reads into buffers it uses again, without a copy (http1/connection.ts
 * says why). What to ask and what to accept is core/upstream.ts.
 */
import type { DestinationPolicy } from '../core/guard.js';
import { hopByHop, type Hop, type OpenUpstream, type SentHop } from '../core/upstream.js';
import type { Http1Client } from './http1/client.js';

export function createUpstream(http: Http1Client, policy: DestinationPolicy): OpenUpstream {
  return hopByHop((hop, signal) => send(http, hop, signal), policy);
}

async function send(http: Http1Client, hop: Hop, signal: AbortSignal): Promise<SentHop> {
  const answer = await http.request(hop.url, hop.method, hop.headers, hop.body, signal);
  const header = (name: string): string | null => answer.head.fields.get(name) ?? null;
  return { status: answer.head.status, header, relay: () => ({ body: answer.body, destroy: answer.destroy }), discard: answer.destroy };
}
