import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { auditLater, auditSignOut, auditSink, auditSource } from "../../middleware/audit";
import { clinicCodeOf } from "../../middleware/tenant";
import { rotateRefresh } from "../../services/sessions";
import { signIn } from "../../services/sign-in";
import { signOut } from "../../services/sign-out";
import type { login as loginRoute, logout as logoutRoute, refresh as refreshRoute } from "./users.routes";
import { photoOf, refreshUserWire, refreshWire, userWire } from "./wire";

export const login: AppRouteHandler<typeof loginRoute> = async (c) => {
  const body = c.req.valid("json");
  const credentials =
    body.username !== undefined
      ? { username: body.username, password: body.password as string, totp: body.totp }
      : { email: body.email as string, emailToken: body.email_token as string, totp: body.totp };
  const result = await signIn(c.env, clinicCodeOf(c.req, c.env), credentials, "vsee", auditSink(c));
  // Two-factor on and no `totp`: the same refusal as a wrong code (no token).
  if ("secondFactor" in result) throw new ApiError("mfa_required");
  const { user, clinic, tokens } = result;
  return c.json(
    {
      data: {
        user_id: String(user.id),
        token: tokens.access.token,
        expiry: tokens.access.expiry,
        created: tokens.created,
        user_type: String(user.type),
        refresh_token: refreshWire(user.id, tokens),
        user: userWire(clinic.code, user, await photoOf(c, user)),
      },
    },
    200,
  );
};

export const logout: AppRouteHandler<typeof logoutRoute> = async (c) => {
  const caller = c.get("caller");
  auditSignOut(c, caller, await signOut(c.env, caller, c.req.valid("json").tokens));
  return c.json({ data: true as const }, 200);
};

export const refresh: AppRouteHandler<typeof refreshRoute> = async (c) => {
  const named = c.req.header("x-accountcode")?.trim() || null;
  const rotated = await rotateRefresh(
    c.env,
    "vsee",
    c.req.valid("json").refresh_token,
    named,
    auditSource(c),
  );
  if (!rotated) {
    auditLater(c, { event: "token_refresh", outcome: "failure", clinic: named ? { code: named } : null });
    throw new ApiError("invalid_refresh_token");
  }
  const { user, tokens } = rotated;
  return c.json(
    {
      data: {
        user_id: String(user.id),
        user_type: String(user.type),
        token: tokens.access.token,
        expiry: tokens.access.expiry,
        refresh_token: refreshWire(user.id, tokens),
        user: refreshUserWire(user, await photoOf(c, user)),
      },
    },
    200,
  );
};
