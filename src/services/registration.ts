/**
 * Register family: registration into the one identity store, the enrollment assertion (seed 003) and the
 * single-use enrollment token behind it.
 *
 * Security (README "Register family"): users are registered by the clinic's server (X-ApiKey) unless the
 * clinic's `settings.selfRegisterGroups` lets their group register itself (default none; clinics older
 * than migration 0009, and the `npm start` demo clinic, list patients); an invite-only clinic takes no
 * anonymous registration. An email that is
 * already registered is returned only to a request that proves it is that user (its bearer token) or
 * comes from the clinic's server: registering by email alone would hand out the account. The clinic's
 * server gets an existing user back by email only when the address is verified or was set by the clinic
 * (SSO, or this route with the API key): otherwise 409, as the account may be a squatter's.
 */
import { getDb } from "../db";
import { statement } from "../db/rows";
import type { Clinic, User } from "../db/schema";
import { users } from "../db/schema";
import { deleteEnrollment, type EnrollmentRecord, getEnrollment, putEnrollment } from "../kv/enrollment";
import { now } from "../lib/clock";
import { randomToken, sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { type EcKeyPair, ecKeyPair, signEs256, spkiPem } from "../lib/jwt";
import type { Bindings } from "../types";
import { type AuditSource, auditFor, auditStatement } from "./audit";
import { careRecord, GROUP_DEFS, type Group } from "./care";
import { getClinicById } from "./clinics";
import { type IssuedTokens, PendingSession, revokeSessions } from "./sessions";
import { findByEmail, generatedId, STATUS_ACTIVE, STATUS_PENDING, userFromRow } from "./users";

/** Lifetime of the enrollment assertion and of its enrollment token (seconds). */
export const ENROLLMENT_TTL = 10 * 60;

export interface RegisterInput {
  email: string;
  groupName: Group;
  firstName: string;
  lastName: string;
}

/** What the request proved about its sender. */
export interface RegistrationProof {
  /** The clinic's API key (X-AccountCode + X-ApiKey) was presented. */
  apiKey: boolean;
  /** The user whose bearer token was presented. */
  userId?: number;
}

export interface Registered {
  user: User;
  tokens: IssuedTokens;
  created: boolean;
}

/** Registers a new user in `input.groupName`, or returns the existing one (see the module comment). */
export async function registerUser(
  env: Bindings,
  clinic: Clinic,
  input: RegisterInput,
  proof: RegistrationProof,
  audit?: AuditSource,
): Promise<Registered> {
  const db = getDb(env.DB);
  const existing = await findByEmail(env, clinic.id, input.email);
  if (existing) return reRegister(env, clinic, existing, input.groupName, proof, audit);

  if (!proof.apiKey) {
    if (clinic.signupMode === "invite_only") throw new ApiError("self_registration_closed");
    const selfGroups: string[] = clinic.settings.selfRegisterGroups ?? [];
    if (!selfGroups.includes(input.groupName)) {
      throw new ApiError("group_requires_api_key");
    }
  }

  const def = GROUP_DEFS[input.groupName];
  const code = generatedId();
  const t = now();
  const insert = db
    .insert(users)
    .values({
      clinicId: clinic.id,
      code,
      type: def.type,
      subtype: def.subtype,
      status: STATUS_ACTIVE,
      username: generatedId(),
      email: input.email,
      emailFromClinic: proof.apiKey,
      firstName: input.firstName,
      lastName: input.lastName,
      groupName: input.groupName,
      createdAt: t,
      updatedAt: t,
    })
    .onConflictDoNothing()
    .returning();
  // The session is written only for the row this request inserted (its fresh, random code).
  const pending = new PendingSession("register", clinic.id);
  const statements = [
    statement(env.DB, insert),
    ...(await pending.statements(env.DB, { where: "code = ?", params: [code] })),
  ];
  if (audit) {
    // Written only when this request inserted the user; the clinic's server (API key) is no user.
    statements.push(
      auditFor(
        env.DB,
        audit,
        {
          event: "sign_up",
          outcome: "success",
          actor: proof.apiKey ? null : "subject",
          details: { group: input.groupName, via: proof.apiKey ? "api_key" : "self" },
        },
        {
          sql: "SELECT clinic_id, id AS user_id FROM users WHERE clinic_id = ? AND code = ?",
          params: [clinic.id, code],
        },
      ),
    );
  }
  const results = await env.DB.batch(statements);
  const raw = results[0]?.results[0] as Record<string, unknown> | undefined;
  if (!raw) {
    // A concurrent request registered this email first: it is an existing user now.
    const winner = await findByEmail(env, clinic.id, input.email);
    if (!winner) throw new ApiError("conflict");
    return reRegister(env, clinic, winner, input.groupName, proof, audit);
  }
  const user = userFromRow(raw);
  const tokens = await pending.commit(env, user, clinic);
  return { user, tokens, created: true };
}

async function reRegister(
  env: Bindings,
  clinic: Clinic,
  user: User,
  group: Group,
  proof: RegistrationProof,
  audit?: AuditSource,
): Promise<Registered> {
  // Proof first, so that an anonymous caller learns nothing about the existing user (not even its group).
  if (!proof.apiKey && proof.userId !== user.id) throw new ApiError("registration_proof_required");
  if (user.disabled) throw new ApiError("user_disabled");
  // By email alone (the API key), only an address somebody stands behind: verified by its owner (an emailed
  // code) or set by the clinic's server itself. Anyone can sign up with another person's address and leave it
  // unverified; handing that account to the clinic would fill an attacker's account with the victim's data.
  // A pending user (no password, never signed in: an emailed-code sign-in verifies the address) is nobody's yet.
  const vouched = user.emailVerified || user.emailFromClinic || user.status === STATUS_PENDING;
  if (proof.userId !== user.id && !vouched) throw new ApiError("email_unverified");
  const extra: D1PreparedStatement[] = [];
  let member = user;
  if (user.groupName !== group) {
    // A user of another family without a group joins the one its user type belongs to.
    const def = GROUP_DEFS[group];
    const adoptable =
      user.groupName === null &&
      user.type === def.type &&
      (def.subtype === null || user.subtype === def.subtype);
    if (!adoptable) throw new ApiError("group_mismatch");
    member = { ...user, groupName: group, updatedAt: now() };
    extra.push(
      env.DB.prepare(
        "UPDATE users SET group_name = ?, updated_at = ? WHERE id = ? AND group_name IS NULL",
      ).bind(group, member.updatedAt, user.id),
    );
  }
  if (audit) {
    // A token for an existing user: a sign-in, proved by the user's own token or the clinic's API key.
    extra.push(
      auditStatement(env.DB, audit, {
        event: "sign_in",
        outcome: "success",
        clinic: clinic.id,
        actorUserId: proof.apiKey ? null : user.id,
        subjectUserId: user.id,
        details: { method: "register", via: proof.apiKey ? "api_key" : "token" },
      }),
    );
  }
  const pending = new PendingSession("register", clinic.id);
  const regrouped = member !== user;
  if (regrouped) {
    // The user's group changed: the sessions it had before (which recorded no group) end in the same batch, as
    // after any change of group, type, subtype or roles; only the one started here carries the new group.
    extra.push(
      env.DB.prepare(
        `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND clinic_id = ? AND revoked_at IS NULL AND id != ?
         RETURNING id`,
      ).bind(now(), user.id, clinic.id, pending.sessionId),
    );
  }
  const results = await env.DB.batch([...(await pending.statements(env.DB, user.id)), ...extra]);
  const tokens = await pending.commit(env, member, clinic);
  // Their access tokens and live sockets (the sweeper clears whatever this leaves).
  const ended = regrouped ? ((results.at(-1)?.results ?? []) as { id: string }[]) : [];
  await Promise.all(ended.map((r) => revokeSessions(env, { sessionId: r.id })));
  return { user: member, tokens, created: false };
}

// ---------- signing keys ----------

/** The signing key pairs: the current one first, then the previous one during a rotation. */
export async function signingKeys(env: Bindings): Promise<EcKeyPair[]> {
  const texts = [env.SIGNING_KEY, env.SIGNING_KEY_PREVIOUS].filter((k): k is string => Boolean(k));
  const pairs = await Promise.all(texts.map(ecKeyPair));
  return pairs.filter((p, i) => pairs.findIndex((q) => q.kid === p.kid) === i);
}

// ---------- enrollment ----------

export type Assertion = Record<
  | "X-Ionic-Reg-Uidauth"
  | "X-Ionic-Reg-Stoken"
  | "X-Ionic-Reg-Ionic-API-Urls"
  | "X-Ionic-Reg-Enrollment-Tag"
  | "X-Ionic-Reg-Pubkey",
  string
>;

/**
 * The enrollment assertion of seed 003: a signed statement of who the user is (ES256 JWT, verifiable with
 * /.well-known/jwks.json), a single-use enrollment token (stored in KV by its SHA-256), the configured
 * Ionic API URLs and enrollment tag, and the public key as PEM.
 */
export async function enrollmentAssertion(
  env: Bindings,
  key: EcKeyPair,
  clinic: Clinic,
  user: User,
  group: Group,
): Promise<Assertion> {
  const t = now();
  const expiresAt = t + ENROLLMENT_TTL;
  const id = String(user.id);
  const stoken = randomToken(32);
  const [uidauth, pem] = await Promise.all([
    signEs256({ sub: id, id, email: user.email, group, clinic: clinic.code, iat: t, exp: expiresAt }, key),
    spkiPem(key),
    putEnrollment(env.KV, sha256Hex(stoken), {
      userId: user.id,
      clinicId: clinic.id,
      clinicCode: clinic.code,
      expiresAt,
    }),
  ]);
  return {
    "X-Ionic-Reg-Uidauth": uidauth,
    "X-Ionic-Reg-Stoken": stoken,
    "X-Ionic-Reg-Ionic-API-Urls": env.IONIC_API_URLS,
    "X-Ionic-Reg-Enrollment-Tag": env.ENROLLMENT_TAG,
    "X-Ionic-Reg-Pubkey": pem,
  };
}

/**
 * Spends an enrollment token of `clinicCode`'s clinic. The token is looked up in KV; spending it is
 * recorded in the clinic's Durable Object, which answers true for exactly one caller.
 * Returns the token's record, or null when it is malformed, unknown, expired, of another clinic or spent;
 * throws 403 when the clinic has been disabled since the token was issued.
 */
export async function spendEnrollment(
  env: Bindings,
  clinicCode: string,
  stoken: string,
): Promise<EnrollmentRecord | null> {
  if (!/^[0-9a-f]{64}$/.test(stoken)) return null;
  const hash = sha256Hex(stoken);
  const record = await getEnrollment(env.KV, hash);
  if (!record || record.clinicCode !== clinicCode) return null;
  // A clinic an operator disabled enrolls nobody (as every other route of it answers 403); the token is
  // left unspent, so nothing changes for a refused request.
  const clinic = await getClinicById(env, record.clinicId);
  if (!clinic || clinic.disabled) throw new ApiError("account_disabled");
  if (!(await careRecord(env, record.clinicId).spendEnrollment(hash, record.expiresAt))) return null;
  await deleteEnrollment(env.KV, hash);
  return record;
}
