/**
 * Profile updates of `POST /api_v3/me`: the user's columns, and (when the password changes) the end of the
 * user's other sessions in the same batch, so that a changed password never leaves another session alive.
 */
import { and, eq, sql } from "drizzle-orm";
import { getDb } from "../db";
import { mapRow, statement } from "../db/rows";
import { type User, users } from "../db/schema";
import type { Bindings } from "../types";
import { type RevokedSession, revocationStatement } from "./sessions";

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
