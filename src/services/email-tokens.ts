/**
 * The VSee family's emailed `email_token`s: a password reset (`POST /api_v3/users/reset_password`) and the
 * activation of a pending user (`POST /api_v3/users/activate`, whom to send it: services/activation.ts).
 * Either token signs the user in once at `POST /api_v3/users/login` (services/sign-in.ts).
 */
import { getDb } from "../db";
import { type Clinic, type User, users } from "../db/schema";
import { now } from "../lib/clock";
import type { Bindings } from "../types";
import type { ActivationTarget } from "./activation";
import { codesPerHour, issueCode } from "./codes";
import { deliverDue, queuedIds, queueMessage } from "./outbox";
import { findByEmail, generatedId, STATUS_PENDING, USER_TYPES } from "./users";

const RESET_TTL = 3600;
const ACTIVATION_TTL = 7 * 24 * 3600;

const EMAIL_TOKENS = {
  vsee_reset: { ttl: RESET_TTL, template: "vsee_password_reset" },
  activation: { ttl: ACTIVATION_TTL, template: "activation" },
} as const;

/**
 * Emails a single-use `email_token` (at most the clinic's codes per hour per user and purpose): the code and its
 * message in one batch, then the first delivery attempt of that message. The cap is checked by the
 * batch's own statements and the message is written only when its code was (services/codes.ts), so that
 * parallel requests cannot send more than the cap.
 */
async function emailToken(
  env: Bindings,
  clinic: Clinic,
  user: User,
  to: string,
  purpose: keyof typeof EMAIL_TOKENS,
  requestId: string,
): Promise<void> {
  const { ttl, template } = EMAIL_TOKENS[purpose];
  const { code, statements, issued } = await issueCode(env, {
    clinicId: clinic.id,
    userId: user.id,
    purpose,
    ttlSeconds: ttl,
    format: "token8",
    perHour: codesPerHour(clinic),
  });
  const vars = {
    clinicName: clinic.name,
    name: user.firstName,
    // The name is shown only to the account's own verified address (templates.ts).
    verifiedRecipient: user.emailVerified && to.toLowerCase() === user.email?.toLowerCase(),
    code,
    minutes: ttl / 60,
  };
  const results = await env.DB.batch([
    ...statements,
    queueMessage(env.DB, clinic.id, "email", to, template, vars, undefined, issued),
  ]);
  const ids = queuedIds(results);
  if (ids.length) await deliverDue(env, { ids, limit: ids.length, requestId });
}

/** A reset token to the live user of `email`, if there is one (nothing otherwise, and nothing tells). */
export async function emailPasswordReset(
  env: Bindings,
  clinic: Clinic,
  email: string,
  requestId: string,
): Promise<void> {
  const user = await findByEmail(env, clinic.id, email);
  if (!user || user.disabled || !user.email) return;
  await emailToken(env, clinic, user, user.email, "vsee_reset", requestId);
}

/**
 * An activation token to `target`'s address, for the pending user of that address (created pending when
 * there is none). A user who is already active or disabled gets nothing: they can reset instead.
 */
export async function emailActivation(
  env: Bindings,
  clinic: Clinic,
  target: ActivationTarget,
  requestId: string,
): Promise<void> {
  let user = await findByEmail(env, clinic.id, target.email);
  if (user && (user.status !== STATUS_PENDING || user.disabled)) return;
  if (!user) {
    const t = now();
    const created = await getDb(env.DB)
      .insert(users)
      .values({
        clinicId: clinic.id,
        code: generatedId(),
        type: USER_TYPES.member,
        status: STATUS_PENDING,
        username: generatedId(),
        email: target.email,
        firstName: target.firstName,
        lastName: target.lastName,
        dob: target.dob,
        createdAt: t,
        updatedAt: t,
      })
      .onConflictDoNothing()
      .returning()
      .get();
    if (!created) return;
    user = created;
  }
  await emailToken(env, clinic, user, target.email, "activation", requestId);
}
