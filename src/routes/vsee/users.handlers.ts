import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { getDb } from "../../db";
import { type Clinic, type User, users } from "../../db/schema";
import { aliveUsers, markAlive } from "../../kv/alive";
import { afterResponse } from "../../lib/background";
import { now } from "../../lib/clock";
import { ApiError, invalidField } from "../../lib/errors";
import { hashPassword, verifyPassword } from "../../lib/password";
import { auditLater, auditSignOut, auditSink, auditSource, auditUser } from "../../middleware/audit";
import { isClinicAdmin, PROVIDER_TYPE } from "../../middleware/auth";
import { checkRateLimit } from "../../middleware/rate-limit";
import { clinicCodeOf, loadClinic } from "../../middleware/tenant";
import { activationTarget } from "../../services/activation";
import { getClinicById } from "../../services/clinics";
import { codesPerHour, issueCode } from "../../services/codes";
import { fileOwner, fileUrl } from "../../services/files";
import { accountLockKey, lockedError, lockedUntil, recordFailure } from "../../services/lockout";
import { deliverDue, queuedIds, queueMessage } from "../../services/outbox";
import { updateProfile } from "../../services/profile";
import {
  endCodePrivilege,
  finishRevocation,
  hashToken,
  PendingSession,
  resolveAccess,
  revokeSessions,
  rotateRefresh,
  sweepRevoked,
} from "../../services/sessions";
import { signIn } from "../../services/sign-in";
import { SORTABLE, type SortKey, searchUsers, type UserFilter } from "../../services/user-search";
import {
  findByEmail,
  generatedId,
  getUser,
  getUserWithRooms,
  STATUS_ACTIVE,
  STATUS_PENDING,
  shareRoom,
  ssoUpsert,
  USER_TYPES,
  uniqueViolation,
  userFromRow,
} from "../../services/users";
import type { AppEnv, Caller } from "../../types";
import type * as r from "./users.routes";
import {
  DEFAULT_LIST_FIELDS,
  LIST_FIELDS,
  type ListField,
  profileWire,
  refreshUserWire,
  refreshWire,
  ssoWire,
  userWire,
} from "./wire";

type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

const RESET_TTL = 3600;
const ACTIVATION_TTL = 7 * 24 * 3600;

/** The URL of a user's photo (with its auth_code), or null. */
function photoOf(c: Context<AppEnv>, u: Pick<User, "photo">): Promise<string | null> {
  return fileUrl(c.env, new URL(c.req.url).origin, u.photo);
}

// ---------- SSO ----------

export const sso: Handler<typeof r.sso> = async (c) => {
  const clinic = c.get("clinic") as Clinic;
  if (!clinic.ssoEnabled) {
    auditLater(c, {
      event: "sso",
      outcome: "failure",
      clinic: clinic.id,
      details: { reason: "sso_disabled" },
    });
    throw new ApiError("sso_disabled");
  }
  const b = c.req.valid("json");
  const code = b.type === USER_TYPES.guest ? generatedId() : (b.code as string);
  const refusedSso = (userId: number): never => {
    auditLater(c, {
      event: "sso",
      outcome: "failure",
      clinic: clinic.id,
      subjectUserId: userId,
      details: { reason: "user_disabled" },
    });
    throw new ApiError("forbidden", { message: "This user is disabled" });
  };
  const pending = new PendingSession("vsee", clinic.id);
  const upsert = ssoUpsert(c.env.DB, clinic.id, b.type, code, {
    firstName: b.first_name,
    lastName: b.last_name,
    dob: b.dob,
    email: b.email,
    username: b.username,
    disableEmails: b.disable_emails,
    gender: b.gender,
    streetAddr: b.street_addr,
    city: b.city,
    state: b.state,
    zip: b.zip,
    phone: b.phone,
  });
  // The user's type must match: a code that already belongs to a user of another type is not taken over.
  const ref = { where: "code = ? AND type = ?", params: [code, b.type] };
  // The audit row is written only when the session was (a live user of this code and type).
  const audited = auditUser(
    c,
    { event: "sso", outcome: "success", actor: null },
    {
      sql: "SELECT clinic_id, id AS user_id FROM users WHERE clinic_id = ? AND code = ? AND type = ? AND disabled = 0",
      params: [clinic.id, code, b.type],
    },
  );
  let results: D1Result<Record<string, unknown>>[];
  try {
    results = await c.env.DB.batch([upsert, ...(await pending.statements(c.env.DB, ref)), audited]);
  } catch (err) {
    throw uniqueViolation(err) ?? err;
  }
  const raw = results[0]?.results[0];
  const sessionWritten = (results[1]?.meta.changes ?? 0) > 0;
  if (!raw) {
    // The upsert left an existing user alone: another type, or disabled (nothing was written).
    const existing = await c.env.DB.prepare("SELECT id, type FROM users WHERE clinic_id = ? AND code = ?")
      .bind(clinic.id, code)
      .first<{ id: number; type: number }>();
    if (!existing) throw new ApiError("conflict");
    if (existing.type !== b.type) throw invalidField("code", "belongs to a user of another type");
    return refusedSso(existing.id);
  }
  const user = userFromRow(raw);
  if (user.disabled || !sessionWritten) return refusedSso(user.id);
  const tokens = await pending.commit(c.env, user, clinic);
  const data = ssoWire(clinic.code, user, tokens);
  const withVsee = c.req.valid("query").fields?.split(",").includes("vsee");
  return c.json(
    { data: withVsee ? { ...data, vsee: { id: data.vseeid, token: tokens.access.token } } : data },
    200,
  );
};

// ---------- login, logout, refresh ----------

export const login: Handler<typeof r.login> = async (c) => {
  const b = c.req.valid("json");
  const credentials =
    b.username !== undefined
      ? { username: b.username, password: b.password as string, totp: b.totp }
      : { email: b.email as string, emailToken: b.email_token as string, totp: b.totp };
  const result = await signIn(c.env, clinicCodeOf(c.req, c.env), credentials, "vsee", auditSink(c));
  // Two-factor on and no `totp`: the same refusal as a wrong code (no token).
  if ("secondFactor" in result) throw new ApiError("mfa_required");
  const { user, clinic, tokens, at } = result;
  return c.json(
    {
      data: {
        user_id: String(user.id),
        token: tokens.access.token,
        expiry: tokens.access.expiry,
        created: tokens.created,
        user_type: String(user.type),
        refresh_token: refreshWire(user.id, tokens),
        user: userWire(clinic.code, { ...user, lastLogin: at }, await photoOf(c, user)),
      },
    },
    200,
  );
};

export const logout: Handler<typeof r.logout> = async (c) => {
  const caller = c.get("caller") as Caller;
  const listed = c.req.valid("json").tokens;
  const signedOut = (sessions: number) => auditSignOut(c, caller, sessions);
  if (!listed || listed.length === 0) {
    signedOut(await revokeSessions(c.env, { sessionId: caller.sessionId }));
    return c.json({ data: true as const }, 200);
  }
  // Each listed token is ended only when it is the caller's own (access or refresh token).
  const sessions = new Set<string>();
  for (const token of listed) {
    const access = await resolveAccess(c.env, token);
    if (access) {
      if (access.userId === caller.userId && access.clinicId === caller.clinicId)
        sessions.add(access.sessionId);
      continue;
    }
    if (!/^[0-9a-f]{32}$/.test(token)) continue;
    const row = await c.env.DB.prepare(
      "SELECT session_id FROM refresh_tokens WHERE token_hash = ? AND user_id = ? AND clinic_id = ?",
    )
      .bind(await hashToken(token), caller.userId, caller.clinicId)
      .first<{ session_id: string }>();
    if (row) sessions.add(row.session_id);
  }
  const ended = await Promise.all([...sessions].map((sessionId) => revokeSessions(c.env, { sessionId })));
  signedOut(ended.reduce((a, b) => a + b, 0));
  return c.json({ data: true as const }, 200);
};

export const refresh: Handler<typeof r.refresh> = async (c) => {
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
    throw new ApiError("invalid_token", { message: "Invalid or expired refresh token" });
  }
  const u = rotated.user;
  return c.json(
    {
      data: {
        user_id: String(u.id),
        user_type: String(u.type),
        token: rotated.tokens.access.token,
        expiry: rotated.tokens.access.expiry,
        refresh_token: refreshWire(u.id, rotated.tokens),
        user: refreshUserWire(u, await photoOf(c, u)),
      },
    },
    200,
  );
};

// ---------- reset password, activation ----------

const EMAIL_TOKENS = {
  vsee_reset: { ttl: RESET_TTL, template: "vsee_password_reset" },
  activation: { ttl: ACTIVATION_TTL, template: "activation" },
} as const;

/**
 * Emails a single-use `email_token` (at most the clinic's codes per hour per user and purpose): the code and its
 * message in one batch, then the first delivery attempt of that message. The cap is checked by the
 * batch's own statements and the message is written only when its code was (services/codes.ts), so that
 * parallel requests cannot send more than the cap.
 */
async function emailToken(
  env: AppEnv["Bindings"],
  clinic: Clinic,
  user: User,
  to: string,
  purpose: keyof typeof EMAIL_TOKENS,
  requestId: string,
): Promise<void> {
  const { ttl, template } = EMAIL_TOKENS[purpose];
  const { code, statements, issued } = await issueCode(env, {
    clinicId: clinic.id,
    userId: user.id,
    purpose,
    ttlSeconds: ttl,
    format: "token8",
    perHour: codesPerHour(clinic),
  });
  const vars = {
    clinicName: clinic.name,
    name: user.firstName,
    // The name is shown only to the account's own verified address (templates.ts).
    verifiedRecipient: user.emailVerified && to.toLowerCase() === user.email?.toLowerCase(),
    code,
    minutes: ttl / 60,
  };
  const results = await env.DB.batch([
    ...statements,
    queueMessage(env.DB, clinic.id, "email", to, template, vars, undefined, issued),
  ]);
  const ids = queuedIds(results);
  if (ids.length) await deliverDue(env, { ids, limit: ids.length, requestId });
}

export const resetPassword: Handler<typeof r.resetPassword> = async (c) => {
  const clinic = await loadClinic(c);
  const { email } = c.req.valid("json");
  afterResponse(c, async () => {
    const user = await findByEmail(getDb(c.env.DB), clinic.id, email);
    if (!user || user.disabled || !user.email) return;
    await emailToken(c.env, clinic, user, user.email, "vsee_reset", c.get("requestId"));
  });
  return c.json({ data: true as const }, 200);
};

export const activate: Handler<typeof r.activate> = async (c) => {
  const clinic = await loadClinic(c);
  // The same answer whatever the details (see services/activation.ts); only a lock answers otherwise.
  const target = await activationTarget(c.env, clinic, c.req.valid("json"));
  afterResponse(c, async () => {
    if (!target) return;
    const db = getDb(c.env.DB);
    let user = await findByEmail(db, clinic.id, target.email);
    if (user && (user.status !== STATUS_PENDING || user.disabled)) return; // already active: they can reset instead
    if (!user) {
      const t = now();
      const created = await db
        .insert(users)
        .values({
          clinicId: clinic.id,
          code: generatedId(),
          type: USER_TYPES.member,
          status: STATUS_PENDING,
          username: generatedId(),
          email: target.email,
          firstName: target.firstName,
          lastName: target.lastName,
          dob: target.dob,
          createdAt: t,
          updatedAt: t,
        })
        .onConflictDoNothing()
        .returning()
        .get();
      if (!created) return;
      user = created;
    }
    await emailToken(c.env, clinic, user, target.email, "activation", c.get("requestId"));
  });
  return c.json({ data: true as const }, 200);
};

// ---------- heartbeat ----------

export const alive: Handler<typeof r.alive> = async (c) => {
  const caller = c.get("caller") as Caller;
  const heartbeat = c.req.valid("json").heartbeat ?? caller.heartbeat;
  const state = await markAlive(c.env.KV, caller.clinicId, caller.userId, heartbeat);
  return c.json({ data: { last_connected: state.lastConnected, heartbeat } }, 200);
};

// ---------- listing and profiles ----------

/** Who may list users: the API key and clinic admins (everybody), providers (their rooms' users). */
function listScope(c: Context<AppEnv>): { clinicId: number; clinicCode: string; inRoomsOf?: number } {
  if (c.get("apiKey")) {
    const clinic = c.get("clinic") as Clinic;
    return { clinicId: clinic.id, clinicCode: clinic.code };
  }
  const caller = c.get("caller") as Caller;
  if (isClinicAdmin(caller)) return { clinicId: caller.clinicId, clinicCode: caller.clinicCode };
  if (caller.type === PROVIDER_TYPE) {
    return { clinicId: caller.clinicId, clinicCode: caller.clinicCode, inRoomsOf: caller.userId };
  }
  throw new ApiError("forbidden", { message: "Members and guests cannot list users" });
}

export const listUsers: Handler<typeof r.listUsers> = async (c) => {
  const scope = listScope(c);
  const q = c.req.valid("query");
  const fields = (q.fields ?? DEFAULT_LIST_FIELDS) as string[];
  const unknown = fields.filter((f) => !Object.hasOwn(LIST_FIELDS, f));
  if (unknown.length) throw invalidField("fields", `unknown field(s): ${unknown.join(", ")}`);
  let sort: { key: SortKey; dir: "asc" | "desc" } = { key: "id", dir: "asc" };
  if (q.sort) {
    const [key, dir] = q.sort.split(".") as [string, string];
    if (!Object.hasOwn(SORTABLE, key)) throw invalidField("sort", `cannot sort by ${key}`);
    sort = { key: key as SortKey, dir: dir.toLowerCase() as "asc" | "desc" };
  }
  const caller = c.get("caller");
  const filter: UserFilter = {
    ids: q.id,
    types: q.type,
    statuses: q.status,
    subtypes: q.subtype,
    roles: q.role,
    q: q.q,
    fullName: q.full_name,
    email: q.email,
    isHidden: q.is_hidden,
    isAdmin: q.is_admin,
    roomCode: q.room_code,
    group: q.group,
    inRoomsOf: scope.inRoomsOf ?? (q.ex_filter && caller ? caller.userId : undefined),
  };
  if (q.ex_filter === "my-patient") filter.types = [USER_TYPES.member];
  let alive: Map<number, { lastConnected: number; until: number }> | undefined;
  if (q.alive) {
    alive = await aliveUsers(c.env.KV, scope.clinicId);
    filter.aliveIds = [...alive.keys()];
  }
  const limit = q.limit ?? 20;
  const start = q.start ?? 0;
  if (q.account_code && q.account_code !== scope.clinicCode) return c.json({ data: [], total_count: 0 }, 200);
  const { rows, total } = await searchUsers(getDb(c.env.DB), scope.clinicId, filter, sort, start, limit);
  const picked = (fields.includes("id") ? fields : ["id", ...fields]) as ListField[];
  const data = rows.map((u) => {
    const item: Record<string, unknown> = {};
    for (const f of picked) item[f] = LIST_FIELDS[f](scope.clinicCode, u);
    const a = alive?.get(u.id);
    if (a) item.last_connected = a.lastConnected;
    return item;
  });
  return c.json({ data, total_count: total }, 200);
};

/** Why the request may read `target`'s profile (self, the API key, clinic admins, providers sharing a room), or null. */
async function readerOf(
  c: Context<AppEnv>,
  target: User,
): Promise<"self" | "api_key" | "clinic_admin" | "provider" | null> {
  if (c.get("apiKey")) return "api_key";
  const caller = c.get("caller") as Caller;
  if (caller.userId === target.id) return "self";
  if (isClinicAdmin(caller)) return "clinic_admin";
  if (
    caller.type === PROVIDER_TYPE &&
    (await shareRoom(getDb(c.env.DB), caller.clinicId, caller.userId, target.id))
  ) {
    return "provider";
  }
  return null;
}

function tenantOf(c: Context<AppEnv>): { clinicId: number; clinicCode: string } {
  const caller = c.get("caller");
  if (caller) return { clinicId: caller.clinicId, clinicCode: caller.clinicCode };
  const clinic = c.get("clinic") as Clinic;
  return { clinicId: clinic.id, clinicCode: clinic.code };
}

export const getUserProfile: Handler<typeof r.getUser> = async (c) => {
  const { clinicId, clinicCode } = tenantOf(c);
  const { user, rooms } = await getUserWithRooms(c.env.DB, clinicId, c.req.valid("param").id);
  if (!user) throw new ApiError("user_not_found");
  const reader = await readerOf(c, user);
  // Access to another user's profile is an audit row, refused or not.
  if (reader !== "self") {
    auditLater(c, {
      event: "profile_access",
      outcome: reader ? "success" : "failure",
      clinic: clinicId,
      actorUserId: c.get("caller")?.userId ?? null,
      subjectUserId: user.id,
      details: { via: reader ?? "denied" },
    });
  }
  if (!reader) throw new ApiError("forbidden", { message: "You may not read this user's profile" });
  return c.json({ data: profileWire(clinicCode, user, rooms, await photoOf(c, user)) }, 200);
};

// ---------- me ----------

async function me(c: Context<AppEnv>): Promise<User> {
  const caller = c.get("caller") as Caller;
  const user = await getUser(getDb(c.env.DB), caller.clinicId, caller.userId);
  if (!user || user.disabled) throw new ApiError("invalid_token");
  return user;
}

export const getMe: Handler<typeof r.getMe> = async (c) => {
  const user = await me(c);
  return c.json(
    { data: userWire((c.get("caller") as Caller).clinicCode, user, await photoOf(c, user)) },
    200,
  );
};

export const postMe: Handler<typeof r.postMe> = async (c) => {
  const caller = c.get("caller") as Caller;
  const b = c.req.valid("json");
  const user = await me(c);
  const set: Partial<typeof users.$inferInsert> = { updatedAt: now() };
  let passwordChanged = false;

  const passwordAudit = (outcome: "success" | "failure", details: Record<string, string>) =>
    auditLater(c, {
      event: "password_change",
      outcome,
      clinic: caller.clinicId,
      actorUserId: caller.userId,
      subjectUserId: caller.userId,
      details,
    });
  let via = "old_password";
  if (b.password !== undefined) {
    const firstPassword = user.status === STATUS_PENDING || !user.passwordHash || caller.via === "code";
    if (firstPassword) via = caller.via === "code" ? "email_token" : "first_password";
    else {
      if (!b.old_password) throw invalidField("old_password", "is required to change the password");
      // Guessing the old password is a credential attempt: per client and per identity.
      await checkRateLimit(c, "CREDENTIALS_LIMITER", "vsee-password");
      const key = accountLockKey(user.id);
      const until = await lockedUntil(c.env, caller.clinicId, key);
      if (until) {
        passwordAudit("failure", { reason: "locked" });
        throw lockedError(until);
      }
      if (!(await verifyPassword(b.old_password, user.passwordHash))) {
        const clinic = await getClinicById(getDb(c.env.DB), caller.clinicId);
        const locked = clinic ? await recordFailure(c.env, clinic, key) : null;
        passwordAudit("failure", { reason: locked ? "locked" : "invalid_old_password" });
        if (locked) throw lockedError(locked);
        throw invalidField("old_password", "is incorrect");
      }
    }
    set.passwordHash = await hashPassword(b.password);
    set.status = STATUS_ACTIVE;
    passwordChanged = true;
  } else if (b.old_password !== undefined) {
    throw invalidField("password", "is required with old_password");
  }

  if (b.photo !== undefined) {
    if (b.photo !== "" && (await fileOwner(c.env, caller.clinicId, b.photo)) !== user.id) {
      throw invalidField("photo", "is not a file id of yours (upload it with POST /files)");
    }
    set.photo = b.photo === "" ? null : b.photo;
  }
  const map = {
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
  for (const [wire, column] of Object.entries(map) as [keyof typeof map, (typeof map)[keyof typeof map]][]) {
    const value = b[wire];
    if (value !== undefined) (set as Record<string, unknown>)[column] = value === "" ? null : value;
  }
  if (b.tos !== undefined) set.tos = b.tos;

  // A new photo must still be the caller's file when the row is written: the cron sweep may delete an
  // old unused upload between the check above and the update (services/files.ts).
  const { updated, revoked } = await updateProfile(c.env, user.id, set, {
    endOtherSessions: passwordChanged
      ? { clinicId: caller.clinicId, exceptSessionId: caller.sessionId }
      : undefined,
    photoOwnedBy: set.photo ? user.id : undefined,
  });
  if (!updated && set.photo) {
    throw invalidField("photo", "is not a file id of yours (upload it with POST /files)");
  }
  if (!updated) throw new ApiError("invalid_token");
  if (passwordChanged) {
    passwordAudit("success", { via });
    // The other sessions ended with the change; their KV tokens go now, or with the sweeper if KV fails.
    await finishRevocation(c.env, revoked).catch(() => afterResponse(c, () => sweepRevoked(c.env)));
    if (caller.via === "code") await endCodePrivilege(c.env, caller.tokenHash);
  }
  return c.json({ data: userWire(caller.clinicCode, updated, await photoOf(c, updated)) }, 200);
};
