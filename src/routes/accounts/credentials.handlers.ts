/**
 * The caller's password and identity changes of POST /authentication (changePassword, changeIdentity:
 * each confirmed by a code sent to the caller), and checkUniqueIdentity.
 */
import type { Context } from "hono";
import type { Clinic, User } from "../../db/schema";
import { ApiError, invalidField } from "../../lib/errors";
import { hashPassword } from "../../lib/password";
import { isPhilippineMobile } from "../../lib/phone";
import { email as emailSchema } from "../../lib/schemas";
import { checkRateLimit, countIdentityLookup } from "../../middleware/rate-limit";
import {
  accountChannel,
  type IdentityKey,
  isIdentityFree,
  type Outgoing,
  sendCode,
} from "../../services/accounts";
import { codesPerHour } from "../../services/codes";
import type { AppEnv } from "../../types";
import { type Action, callerAccount, commitCode, SENT } from "./action-support";
import { mobileNo as mobileNoSchema } from "./schemas";

type CodeMessage = Omit<Parameters<typeof sendCode>[3], "user" | "name" | "perHour">;

/**
 * A change the caller confirms with a code: the per-client limit of code-sending routes (`limitGroup`),
 * the caller's live account, then the code and its message (`message` decides what and where), 429 over
 * the clinic's codes per hour.
 */
async function confirmByCode<E extends AppEnv>(
  c: Context<E>,
  clinic: Clinic,
  limitGroup: string,
  message: (user: User) => Promise<CodeMessage>,
): Promise<typeof SENT> {
  await checkRateLimit(c, "MESSAGES_LIMITER", limitGroup);
  const { user } = await callerAccount(c);
  const out: Outgoing = { statements: [], messages: [] };
  await sendCode(c.env, clinic, out, {
    ...(await message(user)),
    user: user.id,
    name: user.firstName,
    perHour: codesPerHour(clinic),
  });
  await commitCode(c, out);
  return SENT;
}

export const changePassword: Action<"changePassword"> = (c, clinic, body) =>
  confirmByCode(c, clinic, "accounts-change-password", async (user) => {
    const to = accountChannel(user);
    if (!to) throw new ApiError("no_confirmation_channel");
    return {
      purpose: "password_change",
      to,
      verifiedRecipient: to.channel === "email" ? user.emailVerified : user.mobileVerified,
      payload: { passwordHash: await hashPassword(body.password) },
    };
  });

/** Validates an identity for its key; returns the stored form. */
function parseIdentity(key: IdentityKey, value: string): string {
  const parsed = key === "email" ? emailSchema().safeParse(value) : mobileNoSchema().safeParse(value);
  if (!parsed.success) throw invalidField("identity", parsed.error.issues[0]?.message ?? "is invalid");
  return parsed.data;
}

export const changeIdentity: Action<"changeIdentity"> = (c, clinic, body) =>
  confirmByCode(c, clinic, "accounts-change-identity", async (user) => {
    const value = parseIdentity(body.identityKey, body.identity);
    const current = body.identityKey === "email" ? user.email : user.mobileNo;
    if (current !== null && current.toLowerCase() === value.toLowerCase())
      throw invalidField("identity", `is already the account's ${body.identityKey}`);
    if (body.identityKey === "mobileNo" && !isPhilippineMobile(value))
      throw invalidField(
        "identity",
        "must be a Philippine mobile number (the confirmation code is sent by SMS)",
      );
    // The answer tells whether the identity has an account: limited per client (SECURITY.md).
    await countIdentityLookup(c);
    if (!(await isIdentityFree(c.env, clinic.id, body.identityKey, value)))
      throw invalidField("identity", "is already in use");
    return {
      purpose: "identity_change",
      // The new address is not verified yet: the code that verifies it is in this message.
      to: { channel: body.identityKey === "email" ? "email" : "sms", address: value },
      verifiedRecipient: false,
      identity: body.identityKey === "email" ? "email" : "mobile number",
      payload: { key: body.identityKey, value },
    };
  });

export const checkUniqueIdentity: Action<"checkUniqueIdentity"> = async (c, clinic, body) => {
  // Tells whether an identity has an account, by design: limited per client (SECURITY.md "Who can learn…").
  await countIdentityLookup(c);
  const value = parseIdentity(body.identityKey, body.identity);
  return { unique: await isIdentityFree(c.env, clinic.id, body.identityKey, value) };
};
