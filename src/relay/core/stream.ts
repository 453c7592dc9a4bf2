/** One stream's state, as the socket's streams (streams.ts) keep it: where it is, what it may send, its upstream. */
import type { OpenMessage, Validator } from '../../protocol/frames.js';
import type { RelayedBody } from './relayed-body.js';
import type { UpstreamResponse } from './upstream.js';

export interface Stream {
  id: number;
  request: OpenMessage;
  /** Offset of the next byte to send. */
  offset: number;
  sent: number;
  credit: number;
  closed: boolean;
  abort: AbortController;
  upstream: UpstreamResponse | undefined;
  /** The upstream's body as relayed: counted, watched for silence, checked for truncation. */
  body: RelayedBody | null;
  /** The upstream chunk being sent, and how far into it. */
  chunk: Uint8Array | null;
  /** Whether the client has had the first answer's meta; re-opened upstreams send none. */
  described: boolean;
  /** The first answer's version and size, which a re-opened upstream must match. */
  validator: Validator | null;
  total: number | null;
  /** Bytes the stream must carry, once the first answer told its length; fewer is a truncation. */
  expected: number;
  /** Set while waiting for the origin's answer, for the idle watchdog (the body watches itself). */
  connectingSince: number | null;
  /** Set while waiting for credit; past `creditIdleMs` the upstream is given back. */
  creditlessSince: number | null;
  wake: (() => void) | null;
  /** For the media an index stream opened: until the index's head is sent (or it ends), it sends nothing. */
  after: Promise<void> | null;
  /** For an index stream that opened its media: lets the media's frames go. */
  headSent: (() => void) | null;
}

/** A stream as it opens: nothing sent, the credit the relay holds of what the open granted. */
export function newStream(m: OpenMessage, credit: number): Stream {
  return {
    id: m.id,
    request: m,
    offset: m.offset ?? 0,
    sent: 0,
    credit,
    closed: false,
    abort: new AbortController(),
    upstream: undefined,
    body: null,
    chunk: null,
    described: false,
    validator: m.validator ?? null,
    total: null,
    expected: Infinity,
    connectingSince: null,
    creditlessSince: null,
    wake: null,
    after: null,
    headSent: null,
  };
}
