/** Protocol version carried in `hello`; a relay refuses a major version it does not speak. */
export const PROTOCOL_VERSION = 1;

/** Largest text (control) message either side accepts. Media travels in binary frames. */
export const MAX_CONTROL_BYTES = 64 * 1024;
/** Largest request body a client may send upstream (POST). */
export const MAX_REQUEST_BODY_BYTES = 32 * 1024;
/** Largest payload of one binary data frame the relay sends. */
export const MAX_CHUNK_BYTES = 256 * 1024;
/** Streams one socket may hold open at once. */
export const MAX_STREAMS_PER_SOCKET = 64;
/** Credit one stream may hold unspent; more is a protocol error (it would let a stream buffer without bound). */
export const MAX_STREAM_CREDIT = 64 * 1024 * 1024;
/** Upstream headers a client may set. Everything else is chosen by the relay. */
export const SAFE_REQUEST_HEADERS = [
  'accept',
  'accept-language',
  'authorization',
  'content-type',
  'referer',
  'user-agent',
] as const;
export const METHODS = ['GET', 'HEAD', 'POST'] as const;
export type Method = (typeof METHODS)[number];

/**
 * An index stream's limits (docs/protocol.md): the relay codes an ftyp of at most this size, and refuses a
 * moov above this one (a 3-hour 4K film's is about 9 MB); the page believes no index larger than both.
 */
export const INDEX_MAX_FTYP_BYTES = 64 * 1024;
export const INDEX_MAX_MOOV_BYTES = 64 * 1024 * 1024;
