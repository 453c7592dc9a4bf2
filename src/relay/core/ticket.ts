/**
 * Download tickets: what a browser's download manager presents instead of a password, since it cannot send
 * one. A ticket names one URL and the version (validator) it was issued for. It is sealed with AES-256-GCM:
 * nobody can alter it, and nobody who holds it can read it, so the URL's credentials and query tokens do not
 * sit readable in the browser's download history. Any relay that shares the secret can open it and none has
 * to remember it. Web Crypto only, no Node specifics.
 *
 * The key is never the password (a ticket would then be an offline oracle for guessing it): by default it is
 * random per relay; relays behind one address share a dedicated secret, stretched into a key with HKDF.
 */
import { FerryError } from '../../protocol/codes.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import type { Validator } from '../../protocol/frames.js';

export interface TicketClaims {
  /** Names the download, so the session that asked for it can follow its progress and cancel it. */
  id: string;
  url: string;
  validator: Validator | null;
  name: string;
  total: number | null;
  /** Milliseconds since the epoch. */
  expires: number;
  /** `save` serves the file as an attachment at /save/, `play` inline at /media/ to the page's media element. */
  use: TicketUse;
  /** The media type a `play` ticket serves, always an audio or video one (never markup the relay's origin would run). */
  type: string;
}

export type TicketUse = 'save' | 'play';

/**
 * A save ticket lives long enough for an 8 GB file over a slow line, with the browser's own resumes; a play
 * ticket for an evening's viewing of one file (the player asks for a new one if it outlives it).
 */
export const TICKET_LIFETIME_MS: Record<TicketUse, number> = { save: 24 * 60 * 60 * 1000, play: 6 * 60 * 60 * 1000 };
const IV_BYTES = 12;
const MAX_TICKET_CHARS = 16_384;

const encoder = new TextEncoder();

async function keyFrom(secret: string | undefined): Promise<CryptoKey> {
  const usages: KeyUsage[] = ['encrypt', 'decrypt'];
  if (secret === undefined) return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, usages) as Promise<CryptoKey>;
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('ferry'), info: encoder.encode('ferry download ticket v2') },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    usages,
  );
}

export class TicketSealer {
  /** The first seals; each opens. */
  private readonly keys: Promise<CryptoKey[]>;

  /**
   * `secrets` are shared by every relay behind one address, newest first; without any, each relay makes its
   * own key and its tickets are good only there.
   */
  constructor(secrets: readonly string[]) {
    this.keys = Promise.all(secrets.length > 0 ? secrets.map(keyFrom) : [keyFrom(undefined)]);
  }

  async seal(claims: TicketClaims): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const key = (await this.keys)[0]!;
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, encoder.encode(JSON.stringify(claims))));
    const out = new Uint8Array(IV_BYTES + sealed.byteLength);
    out.set(iv);
    out.set(sealed, IV_BYTES);
    return toBase64Url(out);
  }

  /** The claims of a genuine, unexpired ticket; otherwise throws `ticket_invalid`. */
  async unseal(token: string, now = Date.now()): Promise<TicketClaims> {
    // Base64url of at least an IV and a tag; a length of 4n+1 is no base64 at all.
    if (token.length > MAX_TICKET_CHARS || !/^[A-Za-z0-9_-]{38,}$/.test(token) || token.length % 4 === 1) throw new FerryError('ticket_invalid');
    const bytes = fromBase64Url(token);
    const iv = bytes.subarray(0, IV_BYTES);
    let claims: TicketClaims | undefined;
    for (const key of await this.keys) {
      try {
        // GCM's tag check fails for any altered, truncated or foreign ticket.
        const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, bytes.subarray(IV_BYTES));
        claims = JSON.parse(new TextDecoder().decode(plain)) as TicketClaims;
        break;
      } catch {
        // not sealed with this key; try the next
      }
    }
    if (!claims) throw new FerryError('ticket_invalid');
    if (!(claims.expires > now)) throw new FerryError('ticket_invalid', 'this download link has expired; start the download again');
    return claims;
  }
}
