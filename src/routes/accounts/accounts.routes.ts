import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { requireAccount } from "../../middleware/account-auth";
import { IDENTITY_LOOKUP, rateLimit } from "../../middleware/rate-limit";
import * as s from "./schemas";

const tags = ["accounts: accounts"];

export const createAccount = createRoute({
  method: "post",
  path: "/accounts",
  tags,
  summary: "Sign up",
  description:
    'Creates the account and its personal details. In invite_only clinics `invitation` is required and is consumed ("Invitation not found" otherwise). Queues the Welcome email, Human Verification (doctors: truthy personalDetails.doc_PRCLicenseNo) or an email verification code (others with an email), and an SMS code for a Philippine mobile number. Password: 8-128 characters, not a common password.',
  // A signup refused with "is already in use" tells that the identity has an account (SECURITY.md).
  middleware: [
    rateLimit("MESSAGES_LIMITER", "accounts-signup"),
    rateLimit("LOOKUP_LIMITER", IDENTITY_LOOKUP),
    withBody,
  ] as const,
  request: { body: formBody(s.AccountCreateBody) },
  responses: {
    201: s.json(s.Account, "The new account"),
    ...errorResponses("accounts", ...BODY_ERRORS, 403, 404, 429),
  },
});

export const getAccount = createRoute({
  method: "get",
  path: "/accounts/{uid}",
  tags,
  security: SECURITY.jwt,
  summary: "The caller's account",
  description: "Only the account's owner; any other uid answers 404.",
  middleware: [requireAccount] as const,
  request: { params: s.UidParam },
  responses: {
    200: s.json(s.Account, "The account"),
    ...errorResponses("accounts", 401, 404),
  },
});

export const patchAccount = createRoute({
  method: "patch",
  path: "/accounts/{uid}",
  tags,
  security: SECURITY.jwt,
  summary: "Change the caller's account (isFirstLogin only)",
  description:
    "Identities change with the changeIdentity action and the password with changePassword (POST /authentication); email/mobile verification, doctor and disabled flags are the server's.",
  middleware: [requireAccount, withBody] as const,
  request: { params: s.UidParam, body: formBody(s.AccountPatchBody) },
  responses: {
    200: s.json(s.Account, "The account"),
    ...errorResponses("accounts", ...BODY_ERRORS, 401, 404),
  },
});
