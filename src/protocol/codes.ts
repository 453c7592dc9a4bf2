/** Every error the relay or the client can report, with the words a person reads. */
export const ErrorCodes = {
  bad_request: 'the request is malformed',
  invalid_url: 'the URL is not a valid http or https address',
  blocked: 'the relay refused this address',
  dns_failed: 'the host name could not be resolved',
  connect_failed: 'the server could not be reached',
  connect_timeout: 'the server did not answer in time',
  upstream_timeout: 'the server stopped sending data',
  upstream_error: 'the connection to the server failed',
  upstream_status: 'the server answered with an error status',
  too_many_redirects: 'the server redirected too many times',
  range_ignored: 'the server ignored the byte range, so the transfer cannot continue from an offset',
  source_changed: 'the file changed on the server since the transfer began',
  truncated: 'the server sent fewer bytes than it announced',
  auth_required: 'this relay needs a password',
  auth_refused: 'wrong password',
  auth_throttled: 'too many wrong passwords; wait and try again',
  forbidden: 'this action needs the admin credential',
  limit_reached: 'a limit of the relay was reached',
  protocol_error: 'the message broke the protocol',
  cancelled: 'the transfer was cancelled',
  ticket_invalid: 'this download link is not valid or has expired; start the download again',
  relay_unreachable: 'the relay could not be reached',
  not_media: 'the server sent something that is not a video',
  unsupported_codec: 'this browser cannot play this file',
  no_index: 'the file has no index (moov box), so it cannot be streamed',
  media_error: 'the browser could not decode the video',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

/** A failure as a value: a stable code for programs and a sentence for people. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status, for `upstream_status`. */
  readonly status: number | undefined;

  constructor(code: ErrorCode, message?: string, status?: number) {
    super(message ?? ErrorCodes[code]);
    this.name = 'FerryError';
    this.code = code;
    this.status = status;
  }
}
