/** Rules for a relay's settings that every edge reads the same way, whatever carries them (flags, variables). */

/** The shortest secret accepted, by kind: a password is typed by people; a ticket secret never is. */
export const MIN_SECRET_LENGTH = { password: 8, 'admin password': 8, 'ticket secret': 32, 'metrics token': 16 } as const;
export type SecretKind = keyof typeof MIN_SECRET_LENGTH;

/** A comma-separated setting as its items. */
export const settingList = (raw: string | undefined): string[] => (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
