/**
 * Profile updates of `POST /api_v3/me`: the user's columns, and (when the password changes) the end of the
 * user's other sessions in the same batch, so that a changed password never leaves another session alive.
 */
import { and, eq, sql } from "drizzle-orm";
import { getDb } from "../db";
import { mapRow, statement } from "../db/rows";
import { type User, users } from "../db/schema";
import { invalidField } from "../lib/errors";
import { verifyPassword } from "../lib/password";
import type { Bindings, Caller } from "../types";
import { getClinicById } from "./clinics";
import { accountLockKey, lockedError, lockedUntil, recordFailure } from "./lockout";
import { type RevokedSession, revocationStatement } from "./sessions";
import { STATUS_PENDING } from "./users";

/** How a password change was allowed (the audit row's `via`). */
export type PasswordChangeVia = "old_password" | "first_password" | "email_token";

/**
 * Whether the caller may set `user`'s password, and how: without the old one for a first password (a
 * pending user, or none yet) or after signing in with an emailed code, else with the right old password.
 * Guessing the old password is a credential attempt: `beforeGuess` runs first (the per-client limit), a
 * locked account is refused and a wrong guess counts towards the account's lockout; `refused` hears why.
 */
export async function authorizePasswordChange(
  env: Bindings,
  caller: Pick<Caller, "clinicId" | "via">,
  user: User,
  oldPassword: string | undefined,
  hooks: { beforeGuess(): Promise<void>; refused(reason: "locked" | "invalid_old_password"): void },
): Promise<PasswordChangeVia> {
  if (caller.via === "code") return "email_token";
  if (user.status === STATUS_PENDING || !user.passwordHash) return "first_password";
  if (!oldPassword) throw invalidField("old_password", "is required to change the password");
  await hooks.beforeGuess();
  const key = accountLockKey(user.id);
  const until = await lockedUntil(env, caller.clinicId, key);
  if (until) {
    hooks.refused("locked");
    throw lockedError(until);
  }
  if (!(await verifyPassword(oldPassword, user.passwordHash))) {
    const clinic = await getClinicById(env, caller.clinicId);
    const locked = clinic ? await recordFailure(env, clinic, key) : null;
    hooks.refused(locked ? "locked" : "invalid_old_password");
    if (locked) throw lockedError(locked);
    throw invalidField("old_password", "is incorrect");
  }
  return "old_password";
}

export async function updateProfile(
  env: Bindings,
  userId: number,
  set: Partial<typeof users.$inferInsert>,
  options: {
    endOtherSessions?: { clinicId: number; exceptSessionId: string };
    /** With a new photo: only when that file is still this user's upload (else nothing is updated). */
    photoOwnedBy?: number;
  } = {},
): Promise<{ updated: User | undefined; revoked: RevokedSession[] }> {
  const photoStillThere =
    set.photo && options.photoOwnedBy !== undefined
      ? sql`EXISTS (SELECT 1 FROM files WHERE id = ${set.photo} AND owner_id = ${options.photoOwnedBy})`
      : undefined;
  const update = getDb(env.DB)
    .update(users)
    .set(set)
    .where(and(eq(users.id, userId), photoStillThere))
    .returning();
  if (!options.endOtherSessions) return { updated: await update.get(), revoked: [] };
  const [row, ended] = await env.DB.batch([
    statement(env.DB, update),
    revocationStatement(env.DB, { userId, ...options.endOtherSessions }),
  ]);
  const raw = row?.results[0] as Record<string, unknown> | undefined;
  return {
    updated: raw ? mapRow(users, raw) : undefined,
    revoked: (ended?.results ?? []) as RevokedSession[],
  };
}
