import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { requireAccount } from "../../middleware/account-auth";
import { IDENTITY_LOOKUP, rateLimit } from "../../middleware/rate-limit";
import {
  Account,
  AccountCreateBody,
  AccountPage,
  AccountPatchBody,
  AccountSelection,
  json,
  UidParam,
} from "./schemas";

const tags = ["accounts: accounts"];

export const createAccount = createRoute({
  method: "post",
  path: "/accounts",
  operationId: "createAccount",
  security: SECURITY.public,
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
  request: { body: formBody(AccountCreateBody) },
  responses: {
    201: json(Account, "The new account"),
    ...errorResponses("accounts", ...BODY_ERRORS, 403, 404, 429),
  },
});

/** Feathers query parameters, documented once (the handler decodes the whole query string with qs). */
export const FIND_DESCRIPTION =
  "A Feathers `find`: the query string in qs notation (as Feathers' rest-client and the MYCURE SDK send it; the SDK's `#`-typed values `#5`, `#-1`, `#true`, `#[]` are read as numbers, booleans and empty lists). `field=value`, `field[$in][]=…`, `field[$nin][]=…`, `field[$lt|$lte|$gt|$gte|$ne]=…`, `$or[0][field]=…`, `$sort[field]=1|-1`, `$limit` (default 10, capped at 50), `$skip`, `$select[]=field`. Other parameters and operators answer BadRequest. Clinic admins (admin types, role clinic_admin) see their clinic's accounts, everyone else only their own.";

export const findAccounts = createRoute({
  method: "get",
  path: "/accounts",
  operationId: "findAccounts",
  tags,
  security: SECURITY.jwt,
  summary: "List accounts (Feathers find)",
  description: `${FIND_DESCRIPTION} Fields: uid, email (case-insensitive), mobileNo, isEmailVerified, isMobileNoVerified, isDoctor, isDisabled, isFirstLogin, mfaEnabled, createdAt, updatedAt (ISO 8601 or epoch ms).`,
  middleware: [requireAccount] as const,
  responses: {
    200: json(AccountPage, "A page of accounts: {total, limit, skip, data}"),
    ...errorResponses("accounts", 400, 401),
  },
});

export const getAccount = createRoute({
  method: "get",
  path: "/accounts/{uid}",
  operationId: "getAccount",
  tags,
  security: SECURITY.jwt,
  summary: "The caller's account",
  description:
    "Only the account's owner; any other uid answers 404. `$select[]=field` returns only those fields (and uid).",
  middleware: [requireAccount] as const,
  request: { params: UidParam },
  responses: {
    200: json(AccountSelection, "The account"),
    ...errorResponses("accounts", 400, 401, 404),
  },
});

export const patchAccount = createRoute({
  method: "patch",
  path: "/accounts/{uid}",
  operationId: "updateAccount",
  tags,
  security: SECURITY.jwt,
  summary: "Change the caller's account (isFirstLogin only)",
  description:
    "Identities change with the changeIdentity action and the password with changePassword (POST /authentication); email/mobile verification, doctor and disabled flags are the server's.",
  middleware: [requireAccount, withBody] as const,
  request: { params: UidParam, body: formBody(AccountPatchBody) },
  responses: {
    200: json(Account, "The account"),
    ...errorResponses("accounts", ...BODY_ERRORS, 401, 404),
  },
});
