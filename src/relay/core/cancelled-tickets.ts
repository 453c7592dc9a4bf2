/**
 * Tickets cancelled on this relay, remembered for as long as they could be used. The set is bounded: when it
 * is full, the oldest entry is forgotten and every ticket issued before it is refused from then on, so no
 * cancelled ticket ever comes back.
 */
import { FerryError } from '../../protocol/codes.js';
import { TICKET_LIFETIME_MS, type TicketClaims } from './ticket.js';

export class CancelledTickets {
  /** Ticket id → its expiry and why it was cancelled, oldest first. */
  private readonly entries = new Map<string, { expires: number; why: FerryError }>();
  /** Tickets expiring before this were issued before a forgotten cancellation: all are refused. */
  private floor = 0;

  constructor(private readonly max: number) {}

  add(id: string, expires: number, why: FerryError, now = Date.now()): void {
    for (const [old, entry] of this.entries) {
      if (entry.expires > now && this.entries.size < this.max) break;
      this.entries.delete(old);
      if (entry.expires > now) this.floor = Math.max(this.floor, entry.expires);
    }
    this.entries.set(id, { expires, why });
  }

  /** Why this ticket may no longer be used, or null. */
  why(claims: TicketClaims): FerryError | null {
    const entry = this.entries.get(claims.id);
    if (entry) return entry.why;
    if (claims.expires <= this.floor) {
      return new FerryError('cancelled', `downloads started before ${new Date(this.floor - TICKET_LIFETIME_MS[claims.use ?? 'save']).toISOString()} can no longer be resumed on this relay; start the download again`);
    }
    return null;
  }
}
