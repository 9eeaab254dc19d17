/**
 * Request and response schemas of the accounts family (Feathers-style), written from seed 002 and the
 * Feathers facts of the seeds README. Inputs are strict: unknown fields are refused by name.
 */
import { z } from "@hono/zod-openapi";
import { now } from "../../lib/clock";
import { isCommonPassword } from "../../lib/common-passwords";
import { PASSWORD_MAX, PASSWORD_MIN } from "../../lib/password";
import { normalizeMobile } from "../../lib/phone";
import { boolLike, email, isoDate, NOT_WELL_FORMED, text, wellFormed } from "../../lib/schemas";

// ---------- fields ----------

export const mobileNo = () =>
  z
    .string()
    .max(32, "must be a mobile number")
    .transform((v, ctx) => {
      const n = normalizeMobile(v);
      if (n === null) {
        ctx.addIssue({
          code: "custom",
          message: "must be a mobile number, e.g. 09171234567 or +639171234567",
        });
        return z.NEVER;
      }
      return n;
    })
    .openapi({ type: "string", example: "09171234567" });

/** A new password: 8 to 128 characters, not one of the most common passwords. */
export const newPassword = () =>
  z
    .string()
    .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
    .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`)
    .refine(wellFormed, NOT_WELL_FORMED)
    .refine((p) => !isCommonPassword(p), "is too common: choose a password that is harder to guess");

/** A password presented to sign in (no policy: only bounds). */
const presentedPassword = z
  .string()
  .min(1, "is required")
  .max(PASSWORD_MAX, "is incorrect")
  .refine(wellFormed, NOT_WELL_FORMED);

export const actionCode = () =>
  z
    .string()
    .trim()
    .regex(/^\d{6}$/, "must be the 6-digit code");

const totpToken = () =>
  z
    .string()
    .trim()
    .regex(/^\d{6}$/, "must be the 6-digit code from your authenticator app");

const optionalText = (max: number) => text(max).nullable().optional();

const dateOfBirth = z
  .string()
  .trim()
  .transform((v) => (/^\d{4}-\d{2}-\d{2}T/.test(v) ? v.slice(0, 10) : v))
  .pipe(isoDate())
  .refine((d) => d <= new Date(now() * 1000).toISOString().slice(0, 10), "must not be in the future")
  .openapi({ type: "string", format: "date", example: "1990-05-17" });

/** PRC license number: a number or a string; truthy (not null, 0, "" or "0") makes the account a doctor's. */
const prcLicenseNo = z.union([z.number().int().min(0).max(999_999_999_999), text(32)]);

export const PersonalDetailsInput = z
  .object({
    name: z
      .object({
        prefix: optionalText(32),
        firstName: optionalText(100),
        middleName: optionalText(100),
        lastName: optionalText(100),
        suffix: optionalText(32),
      })
      .strict()
      .optional(),
    dateOfBirth: dateOfBirth.nullable().optional(),
    sex: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(["male", "female"], { message: "must be male or female" }))
      .nullable()
      .optional(),
    maritalStatus: optionalText(32),
    address: z
      .object({
        street1: optionalText(200),
        city: optionalText(100),
        province: optionalText(100),
        country: optionalText(100),
      })
      .strict()
      .nullable()
      .optional(),
    doc_PRCLicenseNo: prcLicenseNo.nullable().optional(),
    identityImages: z
      .array(text(2048).min(1, "must not be empty"))
      .max(10, "must have at most 10 images")
      .nullable()
      .optional(),
  })
  .strict()
  .openapi("PersonalDetailsInput");

export type PersonalDetailsPatch = z.output<typeof PersonalDetailsInput>;

// ---------- bodies ----------

export const WaitlistBody = z
  .object({
    email: email(),
    mobileNo: mobileNo().optional(),
    personalDetails: PersonalDetailsInput.optional(),
  })
  .strict()
  .openapi("WaitlistRequest");

export const AccountCreateBody = z
  .object({
    email: email().optional(),
    mobileNo: mobileNo().optional(),
    password: newPassword(),
    invitation: text(128).min(1, "is required").optional(),
    personalDetails: PersonalDetailsInput.optional(),
  })
  .strict()
  .refine((b) => b.email !== undefined || b.mobileNo !== undefined, {
    message: "email or mobileNo is required",
    path: ["email"],
  })
  .openapi("AccountCreateRequest");

export const AccountPatchBody = z
  .object({ isFirstLogin: boolLike().optional() })
  .strict()
  .openapi("AccountPatchRequest", {
    description:
      "Only `isFirstLogin` may be changed here: identities change with the changeIdentity action, the password with changePassword, and flags are the server's.",
  });

// ---------- POST /authentication: strategies and actions ----------

const identityOf = {
  email: email().optional(),
  mobileNo: mobileNo().optional(),
};

const hasIdentity = (b: { email?: string; mobileNo?: string }) =>
  b.email !== undefined || b.mobileNo !== undefined;

/** Sign-in with a password. `strategy` may be left out (seed 002's login example sends none). */
export const LocalStrategy = z
  .object({
    strategy: z.literal("local").default("local"),
    ...identityOf,
    password: presentedPassword,
    totpToken: totpToken().optional(),
  })
  .strict()
  .refine(hasIdentity, { message: "email or mobileNo is required", path: ["email"] })
  .openapi("LocalStrategy");

export const JwtStrategy = z
  .object({ strategy: z.literal("jwt"), accessToken: z.string().min(1, "is required").max(4096) })
  .strict()
  .openapi("JwtStrategy");

const action = <A extends string, S extends z.ZodRawShape>(name: A, shape: S, description: string) =>
  z
    .object({ action: z.literal(name), ...shape })
    .strict()
    .openapi(`Action_${name}`, { description });

const identityKey = z.enum(["email", "mobileNo"], { message: "must be email or mobileNo" });

export const ACTIONS = {
  refreshAccessToken: action(
    "refreshAccessToken",
    { refreshToken: z.string().min(1, "is required").max(256) },
    "Rotates the refresh token: a new access token and refresh token. Reusing a spent refresh token ends the session.",
  ),
  applyActionCode: action(
    "applyActionCode",
    { code: actionCode(), ...identityOf },
    "Applies a 6-digit code (email or SMS verification, identity change, password change). The account is the authenticated caller, or, without a token, the one whose `email` or `mobileNo` is given.",
  ),
  setupMFA: action(
    "setupMFA",
    { enable: boolLike(), totpToken: totpToken().optional() },
    "`enable: true` starts TOTP enrolment (returns the secret and a QR code; it takes effect after verifyMFASecret). `enable: false` turns MFA off and needs a current `totpToken`.",
  ),
  verifyMFASecret: action(
    "verifyMFASecret",
    { totpToken: totpToken() },
    "Confirms enrolment with a code from the authenticator app: MFA is on from now.",
  ),
  changePassword: action(
    "changePassword",
    { password: newPassword() },
    "Sends a code to the account; applying it (applyActionCode) sets the new password and ends the other sessions.",
  ),
  changeIdentity: action(
    "changeIdentity",
    { identityKey, identity: z.string().trim().min(1, "is required").max(254) },
    "Sends a code to the new email (or Philippine mobile number); applying it changes the sign-in identity.",
  ),
  checkUniqueIdentity: action(
    "checkUniqueIdentity",
    { identityKey, identity: z.string().trim().min(1, "is required").max(254) },
    "Whether no account of the clinic uses this email or mobile number.",
  ),
  sendPasswordResetEmail: action(
    "sendPasswordResetEmail",
    { email: email() },
    "Emails a reset code when the email belongs to an account. The answer is the same either way.",
  ),
  resetPassword: action(
    "resetPassword",
    { email: email(), code: actionCode(), password: newPassword() },
    "Completes a reset with the emailed code: sets the password and ends every session.",
  ),
  sendVerificationEmail: action(
    "sendVerificationEmail",
    { email: email().optional() },
    "Sends a new email verification code to the caller (or, without a token, to the account of `email`; same answer either way).",
  ),
  sendVerificationSms: action(
    "sendVerificationSms",
    { mobileNo: mobileNo().optional() },
    "Sends a new SMS verification code to the caller's Philippine mobile number (or, without a token, to the account of `mobileNo`).",
  ),
} as const;

export type ActionName = keyof typeof ACTIONS;

export const AuthenticationBody = z
  .union([
    LocalStrategy,
    JwtStrategy,
    ACTIONS.refreshAccessToken,
    ACTIONS.applyActionCode,
    ACTIONS.setupMFA,
    ACTIONS.verifyMFASecret,
    ACTIONS.changePassword,
    ACTIONS.changeIdentity,
    ACTIONS.checkUniqueIdentity,
    ACTIONS.sendPasswordResetEmail,
    ACTIONS.resetPassword,
    ACTIONS.sendVerificationEmail,
    ACTIONS.sendVerificationSms,
  ])
  .openapi("AuthenticationRequest");

export type AuthenticationInput = z.output<typeof AuthenticationBody>;

/** The schema a body is meant for (by `action`, else `strategy`), to report its errors field by field. */
export function authenticationSchemaFor(body: unknown): {
  schema?: z.ZodType;
  field: string;
  message: string;
} {
  const given = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  if (given.action !== undefined) {
    const schema =
      typeof given.action === "string" && Object.hasOwn(ACTIONS, given.action)
        ? ACTIONS[given.action as ActionName]
        : undefined;
    return { schema, field: "action", message: `must be one of ${Object.keys(ACTIONS).join(", ")}` };
  }
  const schema =
    given.strategy === undefined || given.strategy === "local"
      ? LocalStrategy
      : given.strategy === "jwt"
        ? JwtStrategy
        : undefined;
  return { schema, field: "strategy", message: "must be local or jwt" };
}

// ---------- responses ----------

const iso = z.string().openapi({ format: "date-time" });

export const Account = z
  .object({
    uid: z.string(),
    email: z.string().nullable(),
    mobileNo: z.string().nullable(),
    isEmailVerified: z.boolean(),
    isMobileNoVerified: z.boolean(),
    isDoctor: z.boolean(),
    isDisabled: z.boolean(),
    isFirstLogin: z.boolean(),
    mfaEnabled: z.boolean(),
    createdAt: iso,
    updatedAt: iso,
  })
  .openapi("Account");

export const PersonalDetails = z
  .object({
    id: z.string().openapi({ description: "The account's uid" }),
    name: z.record(z.string(), z.string()),
    dateOfBirth: z.string().optional(),
    sex: z.string().optional(),
    maritalStatus: z.string().optional(),
    address: z.record(z.string(), z.string()).optional(),
    doc_PRCLicenseNo: z.union([z.number(), z.string()]).optional(),
    identityImages: z.array(z.string()).optional(),
    createdAt: iso,
    updatedAt: iso,
  })
  .openapi("PersonalDetails");

/** With `$select`, only the selected fields and the id field. */
export const AccountSelection = z
  .union([Account, Account.partial().required({ uid: true }).openapi("AccountSelection")])
  .openapi({ description: "The account; with `$select`, only the selected fields and uid" });

export const PersonalDetailsSelection = z
  .union([
    PersonalDetails,
    PersonalDetails.partial().required({ id: true }).openapi("PersonalDetailsSelection"),
  ])
  .openapi({ description: "The personal details; with `$select`, only the selected fields and id" });

/** A Feathers `find` page. */
const page = <T extends z.ZodType>(item: T) =>
  z.object({
    total: z.number().int(),
    limit: z.number().int(),
    skip: z.number().int(),
    data: z.array(item),
  });

export const AccountPage = page(AccountSelection).openapi("AccountPage");
export const PersonalDetailsPage = page(PersonalDetailsSelection).openapi("PersonalDetailsPage");

export const WaitlistEntry = z
  .object({
    email: z.string(),
    mobileNo: z.string().optional(),
    personalDetails: z.record(z.string(), z.unknown()),
  })
  .openapi("WaitlistEntry");

export const AuthResult = z
  .object({
    uid: z.string(),
    accessToken: z.string().openapi({ description: "HS256 JWT (sub, sid, aud, iat, exp), valid 15 minutes" }),
    refreshToken: z.string().openapi({
      description: "Single use: spent by refreshAccessToken, and replaced by a jwt re-authentication",
    }),
    expiresAt: iso.openapi({ description: "When accessToken expires" }),
    user: Account.openapi({ description: "The caller's own account (as GET /accounts/{uid})" }),
  })
  .openapi("AuthResult");

export const MissingMfa = z
  .object({ code: z.literal(206), message: z.literal("Missing MFA token") })
  .openapi("MissingMfaToken");

export const ActionResult = z
  .union([
    AuthResult,
    Account,
    z
      .object({
        uid: z.string(),
        enabled: z.boolean(),
        dataURL: z.string().optional().openapi({ description: "QR code of the otpauth URI (SVG data URL)" }),
        secret: z.string().optional().openapi({ description: "The TOTP secret, base32" }),
      })
      .openapi("MfaSetup"),
    z.object({ verified: z.boolean() }).openapi("MfaVerified"),
    z.object({ unique: z.boolean() }).openapi("UniqueIdentity"),
    z.object({ sent: z.literal(true) }).openapi("Sent"),
    z.object({ uid: z.string() }).openapi("PasswordReset"),
  ])
  .openapi("AuthenticationResult");

export type AuthenticationAnswer = z.output<typeof ActionResult>;

export const LogoutResult = z
  .object({ uid: z.string(), accessToken: z.string() })
  .openapi("LogoutResult", { description: "The access token whose session ended" });

export const UidParam = z.object({ uid: z.string().openapi({ param: { name: "uid", in: "path" } }) });
export const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
export const InviteCodeParam = z.object({
  inviteCode: z
    .string()
    .max(128)
    .openapi({ param: { name: "inviteCode", in: "path" } }),
});
export const AccessTokenParam = z.object({
  accessToken: z
    .string()
    .max(4096)
    .openapi({ param: { name: "accessToken", in: "path" } }),
});

export { json } from "../../lib/openapi";
