/**
 * Operators' change of a user (PATCH /admin/clinics/:code/users/:id). What a session may do was decided
 * from the user's type, subtype, roles and group (access tokens carry type, roles and group), so a change
 * of any of them — or disabling the user — ends every session of the user: in the same D1 batch as the
 * change, so that no failure leaves changed rights with live sessions. The sessions' KV tokens and live
 * care-record sockets are cleared right after by the shared `finishRevocation` (the cron sweeper clears any
 * KV token that is left).
 */
import { and, eq } from "drizzle-orm";
import { getDb } from "../db";
import { statement } from "../db/rows";
import { type User, users } from "../db/schema";
import { now } from "../lib/clock";
import type { Bindings } from "../types";
import { finishRevocation, type RevokedSession } from "./sessions";
import { userFromRow } from "./users";

export type UserPatch = Partial<
  Pick<User, "roles" | "type" | "subtype" | "disabled" | "isHidden" | "groupName">
>;

/** Applies `patch`; returns the user after it (undefined when there is no such user in the clinic). */
export async function patchUserRights(
  env: Bindings,
  clinicId: number,
  userId: number,
  patch: UserPatch,
): Promise<User | undefined> {
  const t = now();
  // Whether the user's sessions end, decided in SQL on the row as it is before the update.
  const ends: string[] = [];
  const params: unknown[] = [];
  if (patch.disabled === true) ends.push("1");
  const compare = [
    ["type", patch.type],
    ["subtype", patch.subtype],
    ["roles", patch.roles],
    ["group_name", patch.groupName],
  ] as const;
  for (const [column, value] of compare) {
    if (value === undefined) continue;
    ends.push(`${column} IS NOT ?`);
    params.push(value);
  }
  const update = statement(
    env.DB,
    getDb(env.DB)
      .update(users)
      .set({ ...patch, updatedAt: t })
      .where(and(eq(users.id, userId), eq(users.clinicId, clinicId)))
      .returning(),
  );
  const statements = [update];
  if (ends.length > 0) {
    // Before the update in the batch: it compares the old values with the new ones.
    statements.unshift(
      env.DB.prepare(
        `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND clinic_id = ? AND revoked_at IS NULL
         AND EXISTS (SELECT 1 FROM users WHERE id = ? AND clinic_id = ? AND (${ends.join(" OR ")}))
         RETURNING id, kind, access_hash, clinic_id, live_at, 1 AS ended`,
      ).bind(t, userId, clinicId, userId, clinicId, ...params),
    );
  }
  const results = await env.DB.batch<Record<string, unknown>>(statements);
  const raw = results.at(-1)?.results[0];
  const ended = ends.length > 0 ? ((results[0]?.results ?? []) as unknown as RevokedSession[]) : [];
  // Their access tokens and live sockets, all at once (on failure the sweeper clears what is left).
  if (ended.length > 0) await finishRevocation(env, ended);
  return raw ? userFromRow(raw) : undefined;
}
