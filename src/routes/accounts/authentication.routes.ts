import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { rateLimit } from "../../middleware/rate-limit";
import {
  AccessTokenParam,
  ActionResult,
  AuthenticationBody,
  json,
  LogoutResult,
  MissingMfa,
} from "./schemas";

const tags = ["accounts: authentication"];

export const authenticate = createRoute({
  method: "post",
  path: "/authentication",
  operationId: "authenticate",
  tags,
  summary: "Sign in (strategies local and jwt) and account actions",
  description: [
    '`{strategy: "local", email | mobileNo, password, totpToken?}` (strategy may be left out) signs in: `{uid, accessToken, refreshToken, expiresAt, user}` (`user`: the caller\'s own account, as GET /accounts/{uid}). With MFA on and no totpToken the answer is HTTP 206 `{code: 206, message: "Missing MFA token"}`: send the same request again with `totpToken`. Unknown identity, wrong password and a disabled account answer the same 401; repeated failures lock the identity (429).',
    '`{strategy: "jwt", accessToken}` returns a fresh access token for the same (live) session, the session\'s refresh token rotated (the one held before is spent: presenting it again ends the session) and `user`.',
    "`{action, ...}` runs an account action (see the request variants). Actions marked as the caller's need `Authorization: Bearer <accessToken>`; applyActionCode, sendVerificationEmail and sendVerificationSms also work without it when the account is named by email or mobileNo.",
  ].join("\n\n"),
  security: [{}, ...SECURITY.jwt],
  middleware: [rateLimit("CREDENTIALS_LIMITER", "accounts-authentication"), withBody] as const,
  request: { body: formBody(AuthenticationBody) },
  responses: {
    201: json(ActionResult, "Signed in, or the action's result"),
    206: json(MissingMfa, "The account has MFA on: send the same request with totpToken"),
    ...errorResponses("accounts", ...BODY_ERRORS, 401, 403, 404, 429),
  },
});

export const logout = createRoute({
  method: "delete",
  path: "/authentication",
  operationId: "removeAuthentication",
  tags,
  security: SECURITY.jwt,
  summary: "Sign out: end the session of the bearer access token",
  responses: {
    200: json(LogoutResult, "The session ended"),
    ...errorResponses("accounts", 401),
  },
});

export const logoutToken = createRoute({
  method: "delete",
  path: "/authentication/{accessToken}",
  operationId: "removeAuthenticationByToken",
  security: SECURITY.public,
  tags,
  summary: "Sign out: end the session of the access token in the path",
  request: { params: AccessTokenParam },
  responses: {
    200: json(LogoutResult, "The session ended"),
    ...errorResponses("accounts", 400, 401),
  },
});
