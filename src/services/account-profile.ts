/**
 * Changes an account makes to itself through the accounts family's resources: PATCH /accounts/{uid}
 * (`isFirstLogin`) and PATCH /personal-details/{id}.
 */
import { eq, sql } from "drizzle-orm";
import { getDb } from "../db";
import { statement } from "../db/rows";
import { type Clinic, type User, users } from "../db/schema";
import { now } from "../lib/clock";
import type { Bindings } from "../types";
import { detailsChange, type PersonalDetailsInput } from "./accounts";
import { queuedIds, queueMessage } from "./outbox";
import { userFromRow } from "./users";

/** Sets the account's `isFirstLogin`; returns the new `updated_at`, or null when the account is gone. */
export async function setFirstLogin(
  env: Bindings,
  userId: number,
  isFirstLogin: boolean,
): Promise<number | null> {
  const row = await env.DB.prepare(
    "UPDATE users SET is_first_login = ?, updated_at = ? WHERE id = ? RETURNING updated_at",
  )
    .bind(isFirstLogin ? 1 : 0, now(), userId)
    .first<{ updated_at: number }>();
  return row?.updated_at ?? null;
}

/**
 * One UPDATE merges the patch into the stored details with SQLite's json_patch (RFC 7396), so that
 * concurrent patches of different fields never lose each other; the messages it causes (Human
 * Verification when the account became a doctor, the Identity Validation Receipt for identity images)
 * are in the same batch. `clinic` is read only when a message is sent. Returns the updated account
 * (undefined when it is gone) and the ids of the queued messages.
 */
export async function patchPersonalDetails(
  env: Bindings,
  user: User,
  patch: PersonalDetailsInput,
  clinic: () => Promise<Clinic>,
): Promise<{ updated: User | undefined; queued: number[] }> {
  const change = detailsChange(patch);
  const query = getDb(env.DB)
    .update(users)
    .set({
      ...change.columns,
      details: sql`json_patch(${users.details}, ${JSON.stringify(change.details)})`,
      extra: sql`json_patch(${users.extra}, ${JSON.stringify(change.extra)})`,
      updatedAt: now(),
    })
    .where(eq(users.id, user.id))
    .returning();
  const messages: D1PreparedStatement[] = [];
  const becameDoctor = change.columns.isDoctor === true && !user.isDoctor;
  if (user.email && (becameDoctor || patch.identityImages?.length)) {
    const { id, name } = await clinic();
    const vars = {
      clinicName: name,
      name: change.columns.firstName || user.firstName,
      verifiedRecipient: user.emailVerified,
    };
    if (becameDoctor)
      messages.push(queueMessage(env.DB, id, "email", user.email, "human_verification", vars));
    if (patch.identityImages?.length)
      messages.push(queueMessage(env.DB, id, "email", user.email, "identity_validation_receipt", vars));
  }
  const [updated, ...queued] = await env.DB.batch([statement(env.DB, query), ...messages]);
  const raw = updated?.results[0] as Record<string, unknown> | undefined;
  return { updated: raw ? userFromRow(raw) : undefined, queued: queuedIds(queued) };
}
