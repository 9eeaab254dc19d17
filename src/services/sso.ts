/**
 * VSee single sign-on (`POST /api_v3/users/sso`), server to server: the clinic's server names a user by its
 * own `code` and type; the first call creates the user, later calls update the names and the optional
 * fields sent. The upsert, the session and the audit row are one D1 batch (one round trip, atomic): a
 * session is written only for a live user of that code and type, and the audit row only when it was.
 * A code that belongs to a user of another type is never taken over; a disabled user is refused.
 */
import type { Clinic, User } from "../db/schema";
import { ApiError, invalidField } from "../lib/errors";
import type { Bindings } from "../types";
import { auditFor } from "./audit";
import { type IssuedTokens, PendingSession } from "./sessions";
import type { SignInAudit } from "./sign-in";
import { type SsoFields, ssoUpsert, uniqueViolation, userFromRow } from "./users";

export interface SsoSignedIn {
  user: User;
  tokens: IssuedTokens;
}

/** Creates or updates the user of `code` and `type` and starts a session for it (403 while SSO is off). */
export async function ssoSignIn(
  env: Bindings,
  clinic: Clinic,
  type: number,
  code: string,
  fields: SsoFields,
  audit: SignInAudit,
): Promise<SsoSignedIn> {
  const refused = (reason: "sso_disabled" | "user_disabled", userId?: number) =>
    audit.later({
      event: "sso",
      outcome: "failure",
      clinic: clinic.id,
      subjectUserId: userId,
      details: { reason },
    });
  if (!clinic.ssoEnabled) {
    refused("sso_disabled");
    throw new ApiError("sso_disabled");
  }
  const disabledUser = (userId: number): never => {
    refused("user_disabled", userId);
    throw new ApiError("user_disabled");
  };
  const pending = new PendingSession("vsee", clinic.id);
  const upsert = ssoUpsert(env.DB, clinic.id, type, code, fields);
  // The user's type must match: a code that already belongs to a user of another type is not taken over.
  const ref = { where: "code = ? AND type = ?", params: [code, type] };
  // The audit row is written only when the session was (a live user of this code and type).
  const audited = auditFor(
    env.DB,
    audit.source,
    { event: "sso", outcome: "success", actor: null },
    {
      sql: "SELECT clinic_id, id AS user_id FROM users WHERE clinic_id = ? AND code = ? AND type = ? AND disabled = 0",
      params: [clinic.id, code, type],
    },
  );
  let results: D1Result<Record<string, unknown>>[];
  try {
    results = await env.DB.batch([upsert, ...(await pending.statements(env.DB, ref)), audited]);
  } catch (err) {
    throw uniqueViolation(err) ?? err;
  }
  const raw = results[0]?.results[0];
  const sessionWritten = (results[1]?.meta.changes ?? 0) > 0;
  if (!raw) {
    // The upsert left an existing user alone: another type, or disabled (nothing was written).
    const existing = await env.DB.prepare("SELECT id, type FROM users WHERE clinic_id = ? AND code = ?")
      .bind(clinic.id, code)
      .first<{ id: number; type: number }>();
    if (!existing) throw new ApiError("conflict");
    if (existing.type !== type) throw invalidField("code", "belongs to a user of another type");
    return disabledUser(existing.id);
  }
  const user = userFromRow(raw);
  if (user.disabled || !sessionWritten) return disabledUser(user.id);
  return { user, tokens: await pending.commit(env, user, clinic) };
}
