/**
 * The accounts family's view of the one identity store (DESIGN.md "Identity model"): an account is a
 * `users` row (uid = String(users.id)); its personal details live in the shared columns where /api_v3 has
 * the same fact (first_name, last_name, dob, gender) and in `users.details` otherwise, with the marital
 * status mirrored into `users.extra.marital_status` for the /api_v3 profile.
 */
import { and, eq } from "drizzle-orm";
import { getDb } from "../db";
import { type Clinic, type User, users } from "../db/schema";
import { now } from "../lib/clock";
import { ApiError, invalid } from "../lib/errors";
import { hashPassword } from "../lib/password";
import { isPhilippineMobile } from "../lib/phone";
import type { TemplateName } from "../messages/templates";
import type { Bindings } from "../types";
import { type AuditSource, auditFor } from "./audit";
import { type CodePurpose, issueCode } from "./codes";
import { hashInvitation } from "./invitations";
import { queueMessage } from "./outbox";
import type { UserRef } from "./sessions";
import { emailIs, generatedId, STATUS_ACTIVE, USER_TYPES, uniqueViolation, userFromRow } from "./users";

/** Lifetime of every action code (verification, identity and password change, reset). */
export const CODE_TTL = 10 * 60;

export type IdentityKey = "email" | "mobileNo";

export interface Identity {
  email?: string;
  mobileNo?: string;
}

/** The account of an email (case-insensitive) or a mobile number (stored form) in a clinic. */
export async function findAccount(env: Bindings, clinicId: number, who: Identity): Promise<User | undefined> {
  const db = getDb(env.DB);
  const match = who.email !== undefined ? emailIs(who.email) : eq(users.mobileNo, who.mobileNo ?? "");
  return db
    .select()
    .from(users)
    .where(and(eq(users.clinicId, clinicId), match))
    .get();
}

export async function isIdentityFree(env: Bindings, clinicId: number, key: IdentityKey, value: string) {
  return (await findAccount(env, clinicId, { [key]: value })) === undefined;
}

// ---------- personal details ----------

export interface PersonalDetailsInput {
  name?: {
    prefix?: string | null;
    firstName?: string | null;
    middleName?: string | null;
    lastName?: string | null;
    suffix?: string | null;
  };
  dateOfBirth?: string | null;
  sex?: "male" | "female" | null;
  maritalStatus?: string | null;
  address?: {
    street1?: string | null;
    city?: string | null;
    province?: string | null;
    country?: string | null;
  } | null;
  doc_PRCLicenseNo?: number | string | null;
  identityImages?: string[] | null;
}

/** Seed 002: a doctor's account has a truthy doc_PRCLicenseNo (exists, not null or 0). */
export function isTruthyLicense(v: unknown): boolean {
  if (v === null || v === undefined || v === 0) return false;
  const s = String(v).trim();
  return s !== "" && s !== "0";
}

/** What a personal-details patch changes in a users row. `details`/`extra` are JSON merge patches (RFC 7396). */
export interface DetailsChange {
  columns: Partial<Pick<User, "firstName" | "lastName" | "dob" | "gender" | "isDoctor">>;
  details: Record<string, unknown>;
  extra: Record<string, unknown>;
}

export function detailsChange(p: PersonalDetailsInput): DetailsChange {
  const columns: DetailsChange["columns"] = {};
  const details: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  if (p.name) {
    const { firstName, lastName, ...rest } = p.name;
    if (firstName !== undefined) columns.firstName = firstName ?? "";
    if (lastName !== undefined) columns.lastName = lastName ?? "";
    if (Object.keys(rest).length > 0) details.name = rest;
  }
  if (p.dateOfBirth !== undefined) columns.dob = p.dateOfBirth;
  if (p.sex !== undefined) columns.gender = p.sex;
  if (p.maritalStatus !== undefined) {
    details.maritalStatus = p.maritalStatus;
    extra.marital_status = p.maritalStatus;
  }
  if (p.address !== undefined) details.address = p.address;
  if (p.doc_PRCLicenseNo !== undefined) {
    details.doc_PRCLicenseNo = p.doc_PRCLicenseNo;
    columns.isDoctor = isTruthyLicense(p.doc_PRCLicenseNo);
  }
  if (p.identityImages !== undefined) details.identityImages = p.identityImages;
  return { columns, details, extra };
}

/** RFC 7396 merge (as SQLite's json_patch): objects merge, null removes, anything else replaces. */
export function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === "object" && !Array.isArray(v)) {
      const base = out[k];
      out[k] = mergePatch(
        base && typeof base === "object" && !Array.isArray(base) ? (base as Record<string, unknown>) : {},
        v as Record<string, unknown>,
      );
    } else out[k] = v;
  }
  return out;
}

// ---------- messages ----------

/** A batch under construction: changes first, then the messages they cause (whose ids the tail yields). */
export interface Outgoing {
  statements: D1PreparedStatement[];
  messages: D1PreparedStatement[];
}

type Recipient = Pick<User, "email" | "mobileNo" | "firstName">;

/** The template of each account code's message. */
const CODE_TEMPLATES = {
  email_verify: "email_verification",
  sms_verify: "sms_verification",
  identity_change: "identity_change",
  password_change: "password_change",
  password_reset: "password_reset",
} as const satisfies Partial<Record<CodePurpose, TemplateName>>;

export type AccountCodePurpose = keyof typeof CODE_TEMPLATES & CodePurpose;

/**
 * Issues a code and queues the message that carries it, into `out`. `to` is the channel and address;
 * for a user created in the same batch, `user` is a condition selecting it (nothing is written without it).
 * With `perHour`, the code and its message are written only while the user is under that cap (one
 * atomic check in the batch: services/codes.ts); the message is written only when its code was.
 * `verifiedRecipient`: whether `to` is an address the account has verified (only then may the message
 * greet the user by the name they wrote: templates.ts).
 */
export async function sendCode(
  env: Bindings,
  clinic: Pick<Clinic, "id" | "name">,
  out: Outgoing,
  input: {
    user: UserRef;
    purpose: AccountCodePurpose;
    to: { channel: "email" | "sms"; address: string };
    name?: string | null;
    verifiedRecipient: boolean;
    payload?: Record<string, unknown>;
    identity?: string;
    perHour?: number;
  },
): Promise<void> {
  const { code, statements, issued } = await issueCode(env, {
    clinicId: clinic.id,
    userId: input.user,
    purpose: input.purpose,
    ttlSeconds: CODE_TTL,
    format: "digits6",
    payload: input.payload,
    perHour: input.perHour,
  });
  out.statements.push(...statements);
  const template = CODE_TEMPLATES[input.purpose];
  const guard = typeof input.user === "number" ? undefined : input.user;
  out.messages.push(
    queueMessage(
      env.DB,
      clinic.id,
      input.to.channel,
      input.to.address,
      template,
      {
        clinicName: clinic.name,
        name: input.name,
        verifiedRecipient: input.verifiedRecipient,
        code,
        minutes: CODE_TTL / 60,
        identity: input.identity,
      },
      guard,
      issued,
    ),
  );
}

/** Where a code for the account goes: its email, else its Philippine mobile number. */
export function accountChannel(u: Recipient): { channel: "email" | "sms"; address: string } | null {
  if (u.email) return { channel: "email", address: u.email };
  if (u.mobileNo && isPhilippineMobile(u.mobileNo)) return { channel: "sms", address: u.mobileNo };
  return null;
}

// ---------- signup ----------

export interface NewAccount {
  email?: string;
  mobileNo?: string;
  password: string;
  invitation?: string;
  personalDetails?: PersonalDetailsInput;
}

const INVITATION_MISSING = () =>
  invalid([{ param: "invitation", message: "Invitation not found" }], "Invitation not found");

/**
 * Creates an account and its personal details in one D1 batch, with the messages it causes: Welcome,
 * Human Verification (doctors), an email verification code (non-doctors with an email), an SMS code
 * (Philippine mobile numbers), the Identity Validation Receipt (identity images). With an invitation
 * (required in invite_only clinics), the user is inserted only if the invitation is unused, and the
 * same batch marks it used by that user: of concurrent signups with one invitation, exactly one succeeds.
 */
export async function createAccount(
  env: Bindings,
  clinic: Clinic,
  input: NewAccount,
  audit?: AuditSource,
): Promise<{ user: User; results: D1Result[]; messageCount: number }> {
  if (clinic.signupMode === "invite_only" && !input.invitation) throw INVITATION_MISSING();
  const t = now();
  const code = generatedId();
  const ref = { where: "code = ?", params: [code] };
  const change = detailsChange(input.personalDetails ?? {});
  const details = mergePatch({}, change.details);
  const isDoctor = change.columns.isDoctor ?? false;
  const [passwordHash, invitationHash] = await Promise.all([
    hashPassword(input.password),
    input.invitation ? hashInvitation(input.invitation) : null,
  ]);
  const unused =
    "FROM invitations WHERE clinic_id = ? AND code_hash = ? AND used_at IS NULL AND expires_at > ?";
  const invitation = [clinic.id, invitationHash, t];
  const insert = env.DB.prepare(
    `INSERT INTO users (clinic_id, code, type, status, username, email, mobile_no, password_hash, first_name, last_name,
       dob, gender, details, extra, is_doctor, is_first_login, created_at, updated_at)
     SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?
     ${invitationHash ? `WHERE EXISTS (SELECT 1 ${unused})` : ""}
     RETURNING *`,
  ).bind(
    clinic.id,
    code,
    USER_TYPES.member,
    STATUS_ACTIVE,
    generatedId(),
    input.email ?? null,
    input.mobileNo ?? null,
    passwordHash,
    change.columns.firstName ?? "",
    change.columns.lastName ?? "",
    change.columns.dob ?? null,
    change.columns.gender ?? null,
    JSON.stringify(details),
    JSON.stringify(mergePatch({}, change.extra)),
    isDoctor ? 1 : 0,
    t,
    t,
    ...(invitationHash ? invitation : []),
  );
  const out: Outgoing = { statements: [insert], messages: [] };
  if (invitationHash) {
    out.statements.push(
      env.DB.prepare(
        `UPDATE invitations SET used_at = ?, used_by = (SELECT id FROM users WHERE clinic_id = ? AND code = ?)
         WHERE clinic_id = ? AND code_hash = ? AND used_at IS NULL AND expires_at > ?
           AND EXISTS (SELECT 1 FROM users WHERE clinic_id = ? AND code = ?)`,
      ).bind(t, clinic.id, code, ...invitation, clinic.id, code),
    );
  }
  if (audit) {
    // The sign-up's audit row, written only when the batch inserted the account.
    out.statements.push(
      auditFor(
        env.DB,
        audit,
        { event: "sign_up", outcome: "success", details: { invitation: !!invitationHash } },
        {
          sql: "SELECT clinic_id, id AS user_id FROM users WHERE clinic_id = ? AND code = ?",
          params: [clinic.id, code],
        },
      ),
    );
  }
  const name = change.columns.firstName ?? undefined;
  // A new account's addresses are unverified: its messages do not repeat what the signup wrote.
  const vars = { clinicName: clinic.name, name, verifiedRecipient: false };
  if (input.email) {
    out.messages.push(queueMessage(env.DB, clinic.id, "email", input.email, "welcome", vars, ref));
    if (isDoctor)
      out.messages.push(
        queueMessage(env.DB, clinic.id, "email", input.email, "human_verification", vars, ref),
      );
    else
      await sendCode(env, clinic, out, {
        user: ref,
        purpose: "email_verify",
        to: { channel: "email", address: input.email },
        name,
        verifiedRecipient: false,
        payload: { email: input.email },
      });
    if (input.personalDetails?.identityImages?.length)
      out.messages.push(
        queueMessage(env.DB, clinic.id, "email", input.email, "identity_validation_receipt", vars, ref),
      );
  }
  if (input.mobileNo && isPhilippineMobile(input.mobileNo)) {
    await sendCode(env, clinic, out, {
      user: ref,
      purpose: "sms_verify",
      to: { channel: "sms", address: input.mobileNo },
      verifiedRecipient: false,
      payload: { mobileNo: input.mobileNo },
    });
  }
  let results: D1Result[];
  try {
    results = await env.DB.batch([...out.statements, ...out.messages]);
  } catch (err) {
    // An email or mobile number that is already an account's: a Feathers Conflict (409), as Feathers apps expect.
    const taken = uniqueViolation(err);
    throw taken ? new ApiError("conflict", { message: taken.message, fields: taken.fields }) : err;
  }
  const raw = results[0]?.results[0] as Record<string, unknown> | undefined;
  if (!raw) throw INVITATION_MISSING();
  return { user: userFromRow(raw), results, messageCount: out.messages.length };
}

/** The account of the caller, or 401 when it is gone or disabled (its session should not outlive it). */
export async function requireLiveAccount(env: Bindings, clinicId: number, userId: number): Promise<User> {
  const db = getDb(env.DB);
  const user = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.clinicId, clinicId)))
    .get();
  if (!user || user.disabled) throw new ApiError("invalid_token");
  return user;
}
