/**
 * Download tickets: what a browser's download manager presents instead of a password, since it cannot send
 * one. A ticket names one URL and the version (validator) it was issued for, signed with HMAC-SHA256, so any
 * relay that shares the secret can serve it and none has to remember it. Web Crypto only, no Node specifics.
 */
import { FerryError } from '../protocol/codes.js';
import type { Validator } from '../protocol/frames.js';

export interface TicketClaims {
  /** Names the download, so the session that asked for it can follow its progress and cancel it. */
  id: string;
  url: string;
  validator: Validator | null;
  name: string;
  total: number | null;
  /** Milliseconds since the epoch. */
  expires: number;
}

/** Long enough for an 8 GB file over a slow line, with the browser's own resumes. */
export const TICKET_LIFETIME_MS = 24 * 60 * 60 * 1000;

const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}

export class TicketSigner {
  private readonly key: Promise<CryptoKey>;

  /**
   * `secret` is shared by every relay behind one address; without one, each relay makes its own and its
   * tickets are good only there.
   */
  constructor(secret: string | undefined) {
    const material = secret === undefined ? crypto.getRandomValues(new Uint8Array(32)) : encoder.encode(`ferry download ticket\0${secret}`);
    this.key = crypto.subtle.importKey('raw', material, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  async sign(claims: TicketClaims): Promise<string> {
    const body = toBase64Url(encoder.encode(JSON.stringify(claims)));
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await this.key, encoder.encode(body)));
    return `${body}.${toBase64Url(mac)}`;
  }

  /** The claims of a genuine, unexpired ticket; otherwise throws `ticket_invalid`. */
  async verify(token: string, now = Date.now()): Promise<TicketClaims> {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined || token.length > 16_384) throw new FerryError('ticket_invalid');
    let claims: TicketClaims;
    try {
      // crypto.subtle.verify compares in constant time.
      if (!(await crypto.subtle.verify('HMAC', await this.key, fromBase64Url(mac), encoder.encode(body)))) throw new Error('bad mac');
      claims = JSON.parse(new TextDecoder().decode(fromBase64Url(body))) as TicketClaims;
    } catch {
      throw new FerryError('ticket_invalid');
    }
    if (!(claims.expires > now)) throw new FerryError('ticket_invalid', 'this download link has expired; start the download again');
    return claims;
  }
}
