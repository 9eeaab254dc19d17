/**
 * VSee sign-out (`POST /api_v3/users/logout`): the caller's own session, or the sessions of the tokens it
 * lists (access or refresh tokens), each ended only when it is the caller's own.
 */
import type { Bindings, Caller } from "../types";
import { endSessions, hashToken, resolveAccess, type SignedOut } from "./sessions";

/**
 * Ends the caller's sessions named by `tokens` (its current session when none are listed): how many, and the
 * mark the caller writes after the response with its audit row (sessions.ts `endSessions`).
 */
export async function signOut(
  env: Bindings,
  caller: Pick<Caller, "userId" | "clinicId" | "sessionId">,
  tokens: string[] | undefined,
): Promise<SignedOut> {
  if (!tokens || tokens.length === 0) return endSessions(env, [caller.sessionId]);
  const sessions = new Set<string>();
  for (const token of tokens) {
    const access = await resolveAccess(env, token);
    if (access) {
      if (access.userId === caller.userId && access.clinicId === caller.clinicId)
        sessions.add(access.sessionId);
      continue;
    }
    if (!/^[0-9a-f]{32}$/.test(token)) continue;
    const row = await env.DB.prepare(
      "SELECT session_id FROM refresh_tokens WHERE token_hash = ? AND user_id = ? AND clinic_id = ?",
    )
      .bind(hashToken(token), caller.userId, caller.clinicId)
      .first<{ session_id: string }>();
    if (row) sessions.add(row.session_id);
  }
  return endSessions(env, [...sessions]);
}
