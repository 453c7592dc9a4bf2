/** Errors in the words a person reads in the banner. */
import { ErrorCodes, type FerryError } from '../protocol/codes.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'bad request', 401: 'login required', 403: 'forbidden', 404: 'not found', 410: 'gone',
  429: 'too many requests', 500: 'server error', 502: 'bad gateway', 503: 'unavailable', 504: 'gateway timeout',
};

export function describeError(err: FerryError): string {
  switch (err.code) {
    case 'upstream_status':
      if (!err.status) return err.message;
      return `the server answered ${err.status}${STATUS_TEXT[err.status] ? ` (${STATUS_TEXT[err.status]})` : ''}`;
    case 'blocked':
      if (err.message.startsWith('the relay refused')) return err.message;
      return `the relay refused this address: ${err.message}`;
    default:
      return err.message || ErrorCodes[err.code];
  }
}
