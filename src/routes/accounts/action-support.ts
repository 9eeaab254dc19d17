/**
 * What the account actions of POST /authentication share (codes.handlers.ts, mfa.handlers.ts,
 * credentials.handlers.ts, password-reset.handlers.ts): the action's type, the caller's account, and how a
 * code's batch is committed. Each action returns the body of its 201 answer.
 */
import type { Context } from "hono";
import type { Clinic, User } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { optionalAccount } from "../../middleware/account-auth";
import { runOutgoing } from "../../services/account-codes";
import { type Outgoing, requireLiveAccount } from "../../services/accounts";
import { deliverDue, deliverSoon } from "../../services/outbox";
import type { AppEnv } from "../../types";
import type { ActionName, AuthenticationAnswer, AuthenticationInput } from "./schemas";

export type BodyOf<A extends ActionName> = Extract<AuthenticationInput, { action: A }>;

/** An account action: the request, its clinic and its body in; the body of the 201 answer out. */
export type Action<A extends ActionName> = (
  c: Context<AppEnv>,
  clinic: Clinic,
  body: BodyOf<A>,
) => Promise<AuthenticationAnswer>;

export const SENT = { sent: true as const };

/** The authenticated caller's account (401 without a valid token). */
export async function callerAccount<E extends AppEnv>(
  c: Context<E>,
): Promise<{ user: User; sessionId: string }> {
  const caller = await optionalAccount(c);
  if (!caller) throw new ApiError("action_token_required");
  return {
    user: await requireLiveAccount(c.env, caller.clinicId, caller.userId),
    sessionId: caller.sessionId,
  };
}

const tooManyCodes = () => new ApiError("codes_rate_limited", { headers: { "Retry-After": "3600" } });

/** An authenticated caller's code: 429 over the cap; the message's first delivery follows the response. */
export async function commitCode<E extends AppEnv>(c: Context<E>, out: Outgoing): Promise<void> {
  const ids = await runOutgoing(c.env, out);
  if (ids.length === 0) throw tooManyCodes();
  deliverSoon(c, ids);
}

/** A code for an identity named without a token, after the response (nothing tells the caller the outcome). */
export async function sendCodeLater<E extends AppEnv>(c: Context<E>, out: Outgoing): Promise<void> {
  const ids = await runOutgoing(c.env, out);
  if (ids.length) await deliverDue(c.env, { ids, requestId: c.get("requestId") });
}
