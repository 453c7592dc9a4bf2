/**
 * What the admin credential may do across the whole relay: list every stream and download, and cancel any.
 * The session checks the role; this answers.
 */
import { FerryError } from '../../protocol/codes.js';
import type { KillMessage, TransferInfo, TransfersMessage } from '../../protocol/frames.js';
import type { Downloads } from './downloads.js';
import { redact } from './log.js';

/** What the admin sees of each session. */
export interface AdminView {
  transfers(): TransferInfo[];
  fail(id: number, err: FerryError): void;
}

export function listAll(sessions: Map<string, AdminView>, downloads: Downloads): TransfersMessage {
  return { t: 'transfers', list: [...sessions.values()].flatMap((s) => s.transfers()), downloads: downloads.records.list(redact) };
}

export function kill(message: KillMessage, sessions: Map<string, AdminView>, downloads: Downloads): void {
  if ('download' in message) return downloads.records.cancel(message.download, 'the download was cancelled by an admin');
  sessions.get(message.session)?.fail(message.id, new FerryError('cancelled', 'the transfer was cancelled by an admin'));
}
