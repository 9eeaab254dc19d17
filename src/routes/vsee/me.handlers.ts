import type { User, users } from "../../db/schema";
import { afterResponse, bestEffort } from "../../lib/background";
import { now } from "../../lib/clock";
import { ApiError, invalidField } from "../../lib/errors";
import { hashPassword } from "../../lib/password";
import type { AppRouteHandler } from "../../lib/route-handler";
import { auditLater } from "../../middleware/audit";
import { checkRateLimit } from "../../middleware/rate-limit";
import { fileOwner } from "../../services/files";
import { ownProfile, refreshProfiles } from "../../services/own-profile";
import { authorizePasswordChange, updateProfile } from "../../services/profile";
import { endCodePrivilege, finishRevocation, sweepRevoked } from "../../services/sessions";
import { getUser, STATUS_ACTIVE } from "../../services/users";
import type { Bindings, Caller } from "../../types";
import type { getMe as getMeRoute, postMe as postMeRoute } from "./users.routes";
import { photoOf, userWire } from "./wire";

/** The columns of POST /me's optional profile fields ("" clears one). */
const PROFILE_COLUMNS = {
  dob: "dob",
  gender: "gender",
  nationality: "nationality",
  phone: "phone",
  first_name: "firstName",
  last_name: "lastName",
  street_addr: "streetAddr",
  state: "state",
  zip: "zip",
  city: "city",
  pcp_name: "pcpName",
  pcp_phone: "pcpPhone",
  timezone: "timezone",
} as const;

const NOT_YOUR_PHOTO = "is not a file id of yours (upload it with POST /files)";

/** The caller's own user (401 when it is gone or disabled). */
async function me(env: Bindings, caller: Caller): Promise<User> {
  const user = await getUser(env, caller.clinicId, caller.userId);
  if (!user || user.disabled) throw new ApiError("invalid_token");
  return user;
}

export const getMe: AppRouteHandler<typeof getMeRoute> = async (c) => {
  const caller = c.get("caller");
  // The token's profile snapshot while fresh: this read costs the one KV read that authenticated it.
  const user = await ownProfile(c.env, caller, { kind: "access", tokenHash: caller.tokenHash }, (work) =>
    afterResponse(c, work),
  );
  if (!user) throw new ApiError("invalid_token");
  return c.json({ data: userWire(caller.clinicCode, user, await photoOf(c, user)) }, 200);
};

export const postMe: AppRouteHandler<typeof postMeRoute> = async (c) => {
  const caller = c.get("caller");
  const body = c.req.valid("json");
  const user = await me(c.env, caller);
  const set: Partial<typeof users.$inferInsert> = { updatedAt: now() };

  const passwordAudit = (outcome: "success" | "failure", details: Record<string, string>) =>
    auditLater(c, {
      event: "password_change",
      outcome,
      clinic: caller.clinicId,
      actorUserId: caller.userId,
      subjectUserId: caller.userId,
      details,
    });
  let via: string | undefined;
  if (body.password !== undefined) {
    via = await authorizePasswordChange(c.env, caller, user, body.old_password, {
      // Guessing the old password is a credential attempt: per client and per identity.
      beforeGuess: () => checkRateLimit(c, "CREDENTIALS_LIMITER", "vsee-password"),
      refused: (reason) => passwordAudit("failure", { reason }),
    });
    set.passwordHash = await hashPassword(body.password);
    set.status = STATUS_ACTIVE;
  } else if (body.old_password !== undefined) {
    throw invalidField("password", "is required with old_password");
  }

  if (body.photo !== undefined) {
    if (body.photo !== "" && (await fileOwner(c.env, caller.clinicId, body.photo)) !== user.id) {
      throw invalidField("photo", NOT_YOUR_PHOTO);
    }
    set.photo = body.photo === "" ? null : body.photo;
  }
  for (const [wire, column] of Object.entries(PROFILE_COLUMNS) as [
    keyof typeof PROFILE_COLUMNS,
    (typeof PROFILE_COLUMNS)[keyof typeof PROFILE_COLUMNS],
  ][]) {
    const value = body[wire];
    if (value !== undefined) (set as Record<string, unknown>)[column] = value === "" ? null : value;
  }
  if (body.tos !== undefined) set.tos = body.tos;

  // A new photo must still be the caller's file when the row is written: the cron sweep may delete an
  // old unused upload between the check above and the update (services/files.ts).
  const { updated, revoked } = await updateProfile(c.env, user.id, set, {
    endOtherSessions: via ? { clinicId: caller.clinicId, exceptSessionId: caller.sessionId } : undefined,
    photoOwnedBy: set.photo ? user.id : undefined,
  });
  if (!updated && set.photo) throw invalidField("photo", NOT_YOUR_PHOTO);
  if (!updated) throw new ApiError("invalid_token");
  await bestEffort(c, () => refreshProfiles(c.env, updated));
  if (via) {
    passwordAudit("success", { via });
    // The other sessions ended with the change; their KV tokens go now, or with the sweeper if KV fails.
    await finishRevocation(c.env, revoked).catch(() => afterResponse(c, () => sweepRevoked(c.env)));
    if (caller.via === "code") await endCodePrivilege(c.env, caller.tokenHash);
  }
  return c.json({ data: userWire(caller.clinicCode, updated, await photoOf(c, updated)) }, 200);
};
