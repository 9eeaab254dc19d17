/**
 * D1 tables (drizzle). Every row of user data carries `clinicId`; every query filters on it.
 * Times are unix seconds (integers) so that they compare cheaply in SQL and match the wire formats.
 * Migrations are generated from this file by drizzle-kit (`npm run db:generate`).
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const clinics = sqliteTable(
  "clinics",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    code: text("code").notNull(),
    name: text("name").notNull(),
    domain: text("domain").notNull(),
    portalBaseUrl: text("portal_base_url"),
    ssoEnabled: integer("sso_enabled", { mode: "boolean" }).notNull().default(false),
    signupMode: text("signup_mode", { enum: ["open", "invite_only"] })
      .notNull()
      .default("open"),
    /** JSON array of {first_name, last_name, dob, ssn_last4?, email?} rows; null = no eligibility check. */
    eligibility: text("eligibility", { mode: "json" }).$type<EligibilityEntry[] | null>(),
    defaultHeartbeat: integer("default_heartbeat").notNull().default(300),
    /** JSON object of further per-clinic settings (rate limits, CORS origins, retention). */
    settings: text("settings", { mode: "json" }).$type<ClinicSettings>().notNull().default({}),
    apiKeyHash: text("api_key_hash").notNull(),
    apiKeyPrefix: text("api_key_prefix").notNull(),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("clinics_code_uq").on(t.code)],
);

export interface EligibilityEntry {
  first_name: string;
  last_name: string;
  dob: string;
  ssn?: string;
  email?: string;
}

export interface ClinicSettings {
  /** Failed sign-ins (or codes) before an identity is locked. */
  lockoutThreshold?: number;
  /** First lockout period in seconds; doubles with every further lockout. */
  lockoutBaseSeconds?: number;
  /** Longest lockout period in seconds (the doubling stops there). */
  lockoutMaxSeconds?: number;
  /** Codes of one kind (verification, reset, activation, change) sent to one user per hour. */
  codesPerHour?: number;
  /** Origins allowed by CORS (default none). */
  corsOrigins?: string[];
  /** Days of audit log kept. */
  auditRetentionDays?: number;
  /**
   * Register family: the groups that may register themselves without the clinic's API key (default none:
   * every registration comes from the clinic's server). Migration 0009 gave clinics that existed before it
   * `patients`, as they had.
   */
  selfRegisterGroups?: ("patients" | "physicians" | "insurers")[];
  /**
   * Register family: `per_patient` (one record per patient, shared with its care team; the default) or
   * `shared` (the seed demo's one clinic-wide record behind /state). Migration 0009 set `shared` on the
   * clinics that existed before it.
   */
  careRecordMode?: "per_patient" | "shared";
  /**
   * Register family: which care-record fields each group reads (default: all four). Narrows reading only;
   * writing stays each group's own fields.
   */
  careReadFields?: Partial<
    Record<
      "patients" | "physicians" | "insurers",
      ("medical_history" | "office_visit_notes" | "prescription" | "insurer_reply")[]
    >
  >;
  /** Portal branding: an https URL of the clinic's logo (shown in every page's header). */
  logoUrl?: string | null;
  /** Portal branding: the accent colour, `#rrggbb` (buttons, links, focus rings). */
  accentColor?: string | null;
}

export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clinicId: integer("clinic_id")
      .notNull()
      .references(() => clinics.id),
    /** The clinic's external id for this user (VSee SSO `code`), unique per clinic. */
    code: text("code").notNull(),
    type: integer("type").notNull(),
    subtype: integer("subtype"),
    /** 10 pending (no password yet), 20 active. */
    status: integer("status").notNull().default(20),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    username: text("username").notNull(),
    email: text("email"),
    emailVerified: integer("email_verified", { mode: "boolean" }).notNull().default(false),
    /**
     * The address was set by the clinic's server (SSO or `POST /register` with the API key), not typed by
     * whoever signed up: the clinic vouches for it, so its server may get the user back by it (registration.ts).
     */
    emailFromClinic: integer("email_from_clinic", { mode: "boolean" }).notNull().default(false),
    mobileNo: text("mobile_no"),
    mobileVerified: integer("mobile_verified", { mode: "boolean" }).notNull().default(false),
    passwordHash: text("password_hash"),
    firstName: text("first_name").notNull().default(""),
    lastName: text("last_name").notNull().default(""),
    dob: text("dob"),
    gender: text("gender"),
    phone: text("phone"),
    streetAddr: text("street_addr"),
    city: text("city"),
    state: text("state"),
    zip: text("zip"),
    timezone: text("timezone"),
    nationality: text("nationality"),
    pcpName: text("pcp_name"),
    pcpPhone: text("pcp_phone"),
    photo: text("photo"),
    tos: integer("tos", { mode: "boolean" }).notNull().default(false),
    disableEmails: integer("disable_emails", { mode: "boolean" }).notNull().default(false),
    isHidden: integer("is_hidden", { mode: "boolean" }).notNull().default(false),
    /** Comma-separated roles: clinic_admin, scheduler. */
    roles: text("roles").notNull().default(""),
    /** Clinic group (VSee `group`; register family: patients | physicians | insurers). */
    groupName: text("group_name"),
    mfaSecret: text("mfa_secret"),
    mfaEnabled: integer("mfa_enabled", { mode: "boolean" }).notNull().default(false),
    mfaLastStep: integer("mfa_last_step"),
    isFirstLogin: integer("is_first_login", { mode: "boolean" }).notNull().default(true),
    /** Extended profile (marital status, insurance, emergency contact, …). */
    extra: text("extra", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    /** Accounts family personal details beyond the columns above. */
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    /** Truthy doc_PRCLicenseNo (accounts family). */
    isDoctor: integer("is_doctor", { mode: "boolean" }).notNull().default(false),
    lastLogin: integer("last_login"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("users_clinic_code_uq").on(t.clinicId, t.code),
    uniqueIndex("users_clinic_username_uq").on(t.clinicId, t.username),
    uniqueIndex("users_clinic_email_uq")
      .on(t.clinicId, sql`lower(${t.email})`)
      .where(sql`${t.email} IS NOT NULL`),
    uniqueIndex("users_clinic_mobile_uq").on(t.clinicId, t.mobileNo).where(sql`${t.mobileNo} IS NOT NULL`),
    // (clinic, type) keeps rows in id order within a type: `type=200 ORDER BY id LIMIT 50` needs no sort,
    // and counting a type reads this narrow index only.
    index("users_clinic_type_id_idx").on(t.clinicId, t.type),
    index("users_clinic_status_idx").on(t.clinicId, t.status),
    index("users_clinic_full_name_idx").on(t.clinicId, t.firstName, t.lastName),
    index("users_clinic_group_idx").on(t.clinicId, t.groupName),
    // The file sweep asks "is this file anybody's photo?" (migration 0011).
    index("users_photo_idx").on(t.clinicId, t.photo).where(sql`${t.photo} IS NOT NULL`),
  ],
);

/**
 * How many users each clinic has of each type, kept by triggers on `users` (migration 0005): the
 * total_count of an unfiltered or type-only user list is a read of a few rows, not a count over every
 * user of the clinic (100,000 rows read on each page of a large clinic's directory).
 */
export const userCounts = sqliteTable(
  "user_counts",
  {
    clinicId: integer("clinic_id").notNull(),
    type: integer("type").notNull(),
    n: integer("n").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.clinicId, t.type] })],
);

export const rooms = sqliteTable(
  "rooms",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clinicId: integer("clinic_id")
      .notNull()
      .references(() => clinics.id),
    code: text("code").notNull(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    domain: text("domain").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("rooms_clinic_code_uq").on(t.clinicId, t.code),
    uniqueIndex("rooms_clinic_domain_slug_uq").on(t.clinicId, t.domain, t.slug),
  ],
);

export const roomMembers = sqliteTable(
  "room_members",
  {
    roomId: integer("room_id")
      .notNull()
      .references(() => rooms.id),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id),
    clinicId: integer("clinic_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId] }), index("room_members_user_idx").on(t.userId)],
);

/**
 * A session is one refresh-token family: it starts at sign-in and ends at logout, expiry,
 * password change or detected refresh-token reuse.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    clinicId: integer("clinic_id").notNull(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id),
    /** vsee | accounts | portal */
    kind: text("kind").notNull(),
    /** SHA-256 of the access token currently issued for this session (to delete it from KV). */
    accessHash: text("access_hash"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** Set when the session's token was burnt by GET /auth?one_time_token=1. */
    ssoBurntAt: integer("sso_burnt_at"),
    /**
     * Set once the KV copies of a revoked session's tokens are deleted. Revoked sessions without it are
     * the sweeper's work (a disabled clinic's sessions: more keys than one request may delete).
     */
    kvClearedAt: integer("kv_cleared_at"),
    /** Set when the session opened a live care-record socket (GET /state/live): its end closes it. */
    liveAt: integer("live_at"),
  },
  (t) => [
    index("sessions_user_idx").on(t.userId, t.revokedAt),
    index("sessions_access_idx").on(t.accessHash),
    index("sessions_unswept_idx")
      .on(t.revokedAt)
      .where(sql`${t.revokedAt} IS NOT NULL AND ${t.kvClearedAt} IS NULL`),
  ],
);

export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id),
    clinicId: integer("clinic_id").notNull(),
    userId: integer("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    /** SHA-256 of the token that replaced this one (set in the same statement that spends it). */
    replacedBy: text("replaced_by"),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

/** Single-use codes: verification, reset, activation, identity/password change, email login. */
export const codes = sqliteTable(
  "codes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clinicId: integer("clinic_id").notNull(),
    userId: integer("user_id"),
    purpose: text("purpose").notNull(),
    codeHash: text("code_hash").notNull(),
    /** What applying the code does (e.g. the new email of an identity change). Never a secret in clear. */
    payload: text("payload", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("codes_user_idx").on(t.clinicId, t.userId, t.purpose)],
);

export const waitlist = sqliteTable(
  "waitlist",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clinicId: integer("clinic_id").notNull(),
    email: text("email"),
    mobileNo: text("mobile_no"),
    personalDetails: text("personal_details", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default({}),
    status: text("status", { enum: ["pending", "approved"] })
      .notNull()
      .default("pending"),
    createdAt: integer("created_at").notNull(),
    approvedAt: integer("approved_at"),
  },
  (t) => [
    uniqueIndex("waitlist_clinic_email_uq")
      .on(t.clinicId, sql`lower(${t.email})`)
      .where(sql`${t.email} IS NOT NULL`),
    index("waitlist_clinic_status_idx").on(t.clinicId, t.status),
  ],
);

export const invitations = sqliteTable(
  "invitations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clinicId: integer("clinic_id").notNull(),
    codeHash: text("code_hash").notNull(),
    waitlistId: integer("waitlist_id").references(() => waitlist.id),
    email: text("email"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    usedBy: integer("used_by"),
  },
  (t) => [uniqueIndex("invitations_hash_uq").on(t.clinicId, t.codeHash)],
);

/** Emails and SMS, written in the same batch as the change that causes them. */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clinicId: integer("clinic_id").notNull(),
    channel: text("channel", { enum: ["email", "sms"] }).notNull(),
    recipient: text("recipient").notNull(),
    template: text("template").notNull(),
    subject: text("subject").notNull().default(""),
    bodyText: text("body_text").notNull(),
    bodyHtml: text("body_html"),
    status: text("status", { enum: ["pending", "sending", "sent", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    claimedUntil: integer("claimed_until"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    sentAt: integer("sent_at"),
  },
  (t) => [
    index("outbox_due_idx").on(t.status, t.nextAttemptAt),
    index("outbox_clinic_idx").on(t.clinicId, t.id),
  ],
);

/** Per-identity failure counters for lockout (consistent: D1, not KV). */
export const authFailures = sqliteTable(
  "auth_failures",
  {
    clinicId: integer("clinic_id").notNull(),
    /** SHA-256 of "<kind>:<identity>" so that no identifier is stored in clear. */
    keyHash: text("key_hash").notNull(),
    failures: integer("failures").notNull().default(0),
    lockouts: integer("lockouts").notNull().default(0),
    lockedUntil: integer("locked_until"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.clinicId, t.keyHash] })],
);

/** The audit log's event vocabulary (`audit_log.event`). */
export const AUDIT_EVENTS = [
  "sign_in",
  "sign_out",
  "sign_up",
  "sso",
  "token_refresh",
  "token_reuse",
  "password_change",
  "password_reset",
  "identity_change",
  "mfa_change",
  "profile_access",
  "admin_action",
  "record_access",
  "care_team_change",
] as const;

/**
 * Uploaded files (POST /api_v3/files; the bytes live in KV `file:<id>`): who owns each and its size, so
 * that uploads count against the owner's quota and hourly rate, and files that are nobody's photo are
 * deleted by the cron sweep once they are older than a day (services/files.ts, migration 0011).
 */
export const files = sqliteTable(
  "files",
  {
    id: text("id").primaryKey(),
    clinicId: integer("clinic_id").notNull(),
    ownerId: integer("owner_id")
      .notNull()
      .references(() => users.id),
    size: integer("size").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("files_owner_idx").on(t.clinicId, t.ownerId, t.createdAt),
    index("files_created_idx").on(t.createdAt),
  ],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    clinicId: integer("clinic_id"),
    event: text("event").notNull(),
    outcome: text("outcome", { enum: ["success", "failure"] }).notNull(),
    actorUserId: integer("actor_user_id"),
    subjectUserId: integer("subject_user_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    details: text("details", { mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("audit_clinic_idx").on(t.clinicId, t.id),
    index("audit_clinic_event_idx").on(t.clinicId, t.event, t.id),
    index("audit_created_idx").on(t.createdAt),
  ],
);

/**
 * Care teams (register family, per-patient records): who besides the patient may use a patient's record.
 * Checked on every record request (with the clinic, in one query); the member index lists a
 * physician's or insurer's records in pages without touching any record's Durable Object.
 */
export const careTeamMembers = sqliteTable(
  "care_team_members",
  {
    clinicId: integer("clinic_id").notNull(),
    patientId: integer("patient_id")
      .notNull()
      .references(() => users.id),
    memberUserId: integer("member_user_id")
      .notNull()
      .references(() => users.id),
    /** The member's group when added: physicians | insurers. */
    memberGroup: text("member_group").notNull(),
    /** The user who added the member (the patient, a clinic admin), or null for the clinic's API key. */
    addedBy: integer("added_by"),
    addedAt: integer("added_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.clinicId, t.patientId, t.memberUserId] }),
    index("care_team_members_member_idx").on(t.clinicId, t.memberUserId, t.patientId),
  ],
);

/**
 * The last known version of each per-patient record, for GET /records lists (written after each change's
 * response, never lower than before: the record's own GET is the authoritative version).
 */
export const careRecords = sqliteTable(
  "care_records",
  {
    clinicId: integer("clinic_id").notNull(),
    patientId: integer("patient_id").notNull(),
    version: integer("version").notNull().default(0),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.clinicId, t.patientId] })],
);

/** Which care records a session has live sockets on (so that ending the session closes them). */
export const careLive = sqliteTable(
  "care_live",
  {
    sessionId: text("session_id").notNull(),
    clinicId: integer("clinic_id").notNull(),
    /** The record's Durable Object name (services/care.ts `recordName`). */
    record: text("record").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.record] }), index("care_live_clinic_idx").on(t.clinicId)],
);

export type Clinic = typeof clinics.$inferSelect;
export type User = typeof users.$inferSelect;
export type Room = typeof rooms.$inferSelect;
export type Session = typeof sessions.$inferSelect;
