import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody, z } from "../../lib/openapi";
import { normalizeQuery } from "../../lib/query";
import { vseeAuth } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import { requireApiKey } from "../../middleware/tenant";
import {
  ActivateBody,
  AliveBody,
  AssignRoomBody,
  data,
  IdParam,
  json,
  LoginBody,
  LoginData,
  LogoutBody,
  list,
  MeBody,
  Profile,
  ProfileRoom,
  RefreshBody,
  RefreshData,
  ResetBody,
  SsoBody,
  SsoUser,
  UserObject,
  UsersQuery,
} from "./schemas";

const tags = ["api_v3: users"];
const token = SECURITY.token;
const apiKey = SECURITY.apiKey;
const errors = (...statuses: Parameters<typeof errorResponses>[1][]) => errorResponses("vsee", ...statuses);

export const sso = createRoute({
  method: "post",
  path: "/users/sso",
  operationId: "vseeSso",
  tags,
  security: apiKey,
  summary: "Single sign-on: create or find a member (200), provider (400) or guest (600) and sign them in",
  description:
    "Server-to-server (X-AccountCode + X-ApiKey), refused while the clinic's SSO is disabled. `code` is your id for the user: the first call creates the user, later calls return the same user and update the names and optional fields sent. Also answers at /users/sso.json.",
  middleware: [requireApiKey, withBody] as const,
  request: { query: z.object({ fields: z.string().max(32).optional() }), body: formBody(SsoBody) },
  responses: {
    200: json(data(SsoUser), "The user and its tokens (data.token.token signs the browser in via GET /auth)"),
    ...errors(...BODY_ERRORS, 401, 403),
  },
});

export const listUsers = createRoute({
  method: "get",
  path: "/users",
  operationId: "vseeListUsers",
  tags,
  security: SECURITY.tokenOrKey,
  summary: "List and search users",
  description:
    "Callers: the clinic's API key, clinic admins (all users), providers (users of their rooms). Members and guests get 403.",
  middleware: [vseeAuth({ apiKey: true }), normalizeQuery] as const,
  request: { query: UsersQuery },
  responses: {
    200: json(list(z.record(z.string(), z.unknown())), "A page of users and the total count"),
    ...errors(400, 401, 403),
  },
});

export const getUser = createRoute({
  method: "get",
  path: "/users/{id}",
  operationId: "vseeGetUser",
  tags,
  security: SECURITY.tokenOrKey,
  summary: "A user's full profile (extended profile, clinics, rooms)",
  description: "Self, the clinic's API key, clinic admins, and providers sharing a room with the user.",
  middleware: [vseeAuth({ apiKey: true })] as const,
  request: { params: IdParam },
  responses: {
    200: json(data(Profile), "The profile"),
    ...errors(400, 401, 403, 404),
  },
});

export const assignRoom = createRoute({
  method: "post",
  path: "/users/{id}/rooms",
  operationId: "vseeAssignRoom",
  tags: ["api_v3: rooms"],
  security: SECURITY.tokenOrKey,
  summary: "Assign a user to a room (by room code or id; idempotent)",
  middleware: [vseeAuth({ apiKey: true }), withBody] as const,
  request: { params: IdParam, body: formBody(AssignRoomBody) },
  responses: {
    200: json(list(ProfileRoom), "The user's rooms"),
    ...errors(...BODY_ERRORS, 401, 403, 404),
  },
});

export const login = createRoute({
  method: "post",
  path: "/users/login",
  operationId: "vseeLogin",
  security: SECURITY.public,
  tags,
  summary: "Sign in: active users by username + password, pending users by email + email_token",
  description:
    "Public. Wrong username, wrong password and a disabled user give the same 401. A user with two-factor on also needs `totp` (the current 6-digit code, with either pair; an email token is spent by a request that lacks it): without it, or with a wrong one, 401 `Two-factor code required…` and no token. Rate-limited per client and locked per identity after repeated failures (429 with Retry-After); wrong TOTP codes lock the account's second factor (429), which only a right code clears.",
  middleware: [rateLimit("CREDENTIALS_LIMITER", "vsee-login"), withBody] as const,
  request: { body: formBody(LoginBody) },
  responses: {
    200: json(data(LoginData), "Tokens and the user"),
    ...errors(...BODY_ERRORS, 401, 429),
  },
});

export const logout = createRoute({
  method: "post",
  path: "/users/logout",
  operationId: "vseeLogout",
  tags,
  security: token,
  summary: "Destroy the caller's listed tokens (the current one when none are listed)",
  middleware: [vseeAuth(), withBody] as const,
  request: { body: formBody(LogoutBody) },
  responses: {
    200: json(data(z.literal(true)), "Done"),
    ...errors(...BODY_ERRORS, 401),
  },
});

export const resetPassword = createRoute({
  method: "post",
  path: "/users/reset_password",
  operationId: "vseeResetPassword",
  security: SECURITY.public,
  tags,
  summary: "Email a one-time email_token to reset the password (always answers true)",
  middleware: [rateLimit("MESSAGES_LIMITER", "vsee-reset"), withBody] as const,
  request: { body: formBody(ResetBody) },
  responses: {
    200: json(data(z.literal(true)), "Queued when the user exists"),
    ...errors(...BODY_ERRORS, 429),
  },
});

export const activate = createRoute({
  method: "post",
  path: "/users/activate",
  operationId: "vseeActivate",
  security: SECURITY.public,
  tags,
  summary: "Check eligibility and email an activation email_token",
  middleware: [rateLimit("MESSAGES_LIMITER", "vsee-activate"), withBody] as const,
  request: { body: formBody(ActivateBody) },
  responses: {
    200: json(
      data(z.literal(true)),
      "Always true: if the details match an eligible member, an activation code was sent to the member's own email (the eligibility entry's). 429 once a person (name + dob) was tried too often",
    ),
    ...errors(...BODY_ERRORS, 429),
  },
});

export const alive = createRoute({
  method: "post",
  path: "/users/alive",
  operationId: "vseeHeartbeat",
  tags,
  security: SECURITY.tokenOrPortal,
  summary: "Heartbeat: mark the caller alive for `heartbeat` seconds",
  description:
    "Send it at under half the heartbeat. Besides a token, the portal's session cookie authenticates this route (the patient page's script), only together with the page's CSRF token in `X-CSRF-Token` (403 without it).",
  middleware: [vseeAuth({ cookie: true }), withBody] as const,
  request: { body: formBody(AliveBody) },
  responses: {
    200: json(
      data(z.object({ last_connected: z.number().int(), heartbeat: z.number().int() })),
      "Alive until last_connected + heartbeat",
    ),
    ...errors(...BODY_ERRORS, 401, 403),
  },
});

export const refresh = createRoute({
  method: "post",
  path: "/tokens/refresh",
  operationId: "vseeRefreshToken",
  security: SECURITY.public,
  tags,
  summary: "Rotate a refresh token: a new access token and a new refresh token",
  description: "Reuse of a spent refresh token answers 401 and ends the whole session.",
  middleware: [rateLimit("CREDENTIALS_LIMITER", "vsee-refresh"), withBody] as const,
  request: { body: formBody(RefreshBody) },
  responses: {
    200: json(data(RefreshData), "New tokens"),
    ...errors(...BODY_ERRORS, 401, 429),
  },
});

export const getMe = createRoute({
  method: "get",
  path: "/me",
  operationId: "vseeGetMe",
  tags: ["api_v3: me"],
  security: token,
  summary: "The caller's profile",
  middleware: [vseeAuth()] as const,
  request: {
    query: z.object({
      user_photo_size: z
        .string()
        .regex(/^\d{1,4}x\d{1,4}$/)
        .optional(),
    }),
  },
  responses: {
    200: json(data(UserObject), "The profile"),
    ...errors(400, 401),
  },
});

export const postMe = createRoute({
  method: "post",
  path: "/me",
  operationId: "vseeUpdateMe",
  tags: ["api_v3: me"],
  security: token,
  summary: "Update the caller's profile or password",
  description:
    "`password` alone sets the first password of a pending user (status 10 → 20) or of a user signed in with an emailed token; changing it otherwise needs `old_password`, and ends the user's other sessions.",
  middleware: [vseeAuth(), withBody] as const,
  request: { body: formBody(MeBody) },
  responses: {
    200: json(data(UserObject), "The updated profile"),
    ...errors(...BODY_ERRORS, 401),
  },
});
