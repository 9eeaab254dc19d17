/** Request and response schemas of the register family, written from seed 003 (the wire shape is fixed). */
import { z } from "@hono/zod-openapi";
import { intLike } from "../../lib/schemas";
import { CARE_FIELDS, type CareField, GROUPS } from "../../services/care";

// ---------- requests ----------

export const NAME_MAX = 256;
/** Largest value of one care-record field, in characters (the whole body is capped by MAX_BODY_BYTES). */
export const CARE_FIELD_MAX = 32 * 1024;

/** Letters of any language (with their combining marks), spaces, hyphens and apostrophes. */
const NAME_CHARS = /^[\p{L}\p{M} '’-]*$/u;
const personName = z
  .string()
  .trim()
  .min(1, "is required")
  .max(NAME_MAX, `must be at most ${NAME_MAX} characters`)
  .regex(NAME_CHARS, "must contain only letters, spaces, hyphens and apostrophes")
  // The document's `pattern` is the source alone (JSON Schema patterns are Unicode-aware): the
  // generator would otherwise write the flag into the text ("…$/u"), a pattern that matches nothing.
  .openapi({ pattern: NAME_CHARS.source })
  .refine((v) => v === "" || /\p{L}/u.test(v), "must contain a letter")
  .transform((v) => v.normalize("NFC"));

const email = z
  .string()
  .trim()
  .min(1, "is required")
  .max(254, "must be at most 254 characters")
  .email("must be a valid email address");

export const RegisterBody = z
  .object({
    email,
    groupName: z.enum(GROUPS, {
      error: (issue) => (issue.input === undefined ? "is required" : `must be one of ${GROUPS.join(", ")}`),
    }),
    firstName: personName,
    lastName: personName,
  })
  .strict()
  .openapi("RegisterBody", {
    example: { email: "user@example.com", groupName: "patients", firstName: "John", lastName: "Doe" },
  });

export const EnrollBody = z
  .object({
    stoken: z
      .string()
      .min(1, "is required")
      .max(256, "must be at most 256 characters")
      .openapi({ description: "X-Ionic-Reg-Stoken of the assertion" }),
  })
  .strict()
  .openapi("EnrollBody");

const careText = z.string().max(CARE_FIELD_MAX, `must be at most ${CARE_FIELD_MAX} characters`);

export const StateBody = z
  .object({
    medical_history: careText.optional(),
    office_visit_notes: careText.optional(),
    prescription: careText.optional(),
    insurer_reply: careText.optional(),
  })
  .strict()
  .refine(
    (b) => CARE_FIELDS.some((f) => b[f] !== undefined),
    `at least one of ${CARE_FIELDS.join(", ")} is required`,
  )
  .openapi("StateUpdate", {
    description:
      "Any of the four fields, at least one. Patients write medical_history; physicians office_visit_notes and prescription; insurers insurer_reply.",
  });

export const HistoryQuery = z.object({
  limit: intLike()
    .pipe(z.number().min(1, "must be at least 1").max(100, "must be at most 100"))
    .optional()
    .openapi({ param: { name: "limit", in: "query" }, description: "Entries per page (1-100, default 20)" }),
  before: intLike()
    .pipe(z.number().min(1, "must be at least 1"))
    .optional()
    .openapi({
      param: { name: "before", in: "query" },
      description: "Only entries older than this version (the previous page's next_before)",
    }),
});

export const LiveQuery = z.object({
  token: z
    .string()
    .optional()
    .openapi({
      param: { name: "token", in: "query" },
      description: "The bearer token, for clients that cannot set headers (prefer Sec-WebSocket-Protocol)",
    }),
  accountCode: z
    .string()
    .optional()
    .openapi({ param: { name: "accountCode", in: "query" }, description: "The clinic (else the default)" }),
});

export const IfMatchHeader = z.object({
  "if-match": z
    .string()
    .optional()
    .openapi({
      param: { name: "if-match", in: "header" },
      description:
        'The ETag of GET /state (e.g. "12"), or *: the write is refused with 412 when the version moved on',
    }),
});

// ---------- responses ----------

export const ScimUser = z
  .object({
    id: z.string(),
    schemas: z.array(z.literal("urn:scim:schemas:core:1.0")),
    meta: z.object({
      created: z.string().openapi({ example: "2019-04-16T15:44:37Z" }),
      lastModified: z.string().openapi({ example: "2019-04-16T15:44:37Z" }),
      location: z.string(),
      version: z.string(),
    }),
    name: z.object({ formatted: z.string(), familyName: z.string(), givenName: z.string() }),
    emails: z.array(z.object({ value: z.string() })),
    groups: z.array(z.object({ value: z.enum(GROUPS), display: z.string() })),
  })
  .openapi("ScimUser");

export const Assertion = z
  .object({
    "X-Ionic-Reg-Uidauth": z.string().openapi({
      description: "ES256 JWT (sub, id, email, group, clinic, iat, exp): verify with /.well-known/jwks.json",
    }),
    "X-Ionic-Reg-Stoken": z.string().openapi({
      description: "Single-use enrollment token (10 minutes): spend it with POST /register/enroll",
    }),
    "X-Ionic-Reg-Ionic-API-Urls": z.string(),
    "X-Ionic-Reg-Enrollment-Tag": z.string(),
    "X-Ionic-Reg-Pubkey": z
      .string()
      .openapi({ description: "The signing public key (PEM, SubjectPublicKeyInfo)" }),
  })
  .openapi("EnrollmentAssertion");

export const Registration = z
  .object({
    assertion: Assertion,
    user: ScimUser,
    token: z.string().openapi({ description: "Bearer token for the /state routes (24 hours)" }),
  })
  .openapi("Registration");

export const Enrolled = z
  .object({ enrolled: z.literal(true), id: z.string().openapi({ description: "The enrolled user's id" }) })
  .openapi("Enrolled");

export const Jwks = z
  .object({
    keys: z.array(
      z.object({
        kty: z.literal("EC"),
        crv: z.literal("P-256"),
        x: z.string(),
        y: z.string(),
        kid: z.string(),
        alg: z.literal("ES256"),
        use: z.literal("sig"),
      }),
    ),
  })
  .openapi("Jwks");

const careFields = Object.fromEntries(CARE_FIELDS.map((f) => [f, z.string().optional()])) as Record<
  CareField,
  z.ZodOptional<z.ZodString>
>;

export const CareState = z
  .object({
    ...careFields,
    version: z.number().int().openapi({ description: "Bumped by every change (also sent as the ETag)" }),
  })
  .openapi("CareState", { description: "Fields never set are absent" });

export const History = z
  .object({
    entries: z.array(
      z.object({
        version: z.number().int(),
        action: z.enum(["update", "reset"]),
        fields: z.array(z.enum(CARE_FIELDS)),
        user_id: z.string(),
        group: z.string().openapi({ description: "patients, physicians, insurers or clinic_admin" }),
        at: z.string().openapi({ example: "2019-04-16T15:44:37Z" }),
      }),
    ),
    next_before: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Pass as `before` for the next (older) page; null on the last page" }),
  })
  .openapi("CareHistory");

export { json } from "../../lib/openapi";

// ---------- per-patient records ----------

export const PatientParam = z.object({
  patientId: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, "must be a user id")
    .openapi({ param: { name: "patientId", in: "path" }, description: "The patient's user id" }),
});

export const MemberParam = PatientParam.extend({
  userId: z
    .string()
    .regex(/^[1-9]\d{0,14}$/, "must be a user id")
    .openapi({ param: { name: "userId", in: "path" }, description: "The member's user id" }),
});

export const RecordsQuery = z.object({
  limit: intLike()
    .pipe(z.number().min(1, "must be at least 1").max(100, "must be at most 100"))
    .optional()
    .openapi({ param: { name: "limit", in: "query" }, description: "Records per page (1-100, default 50)" }),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "must be the next_cursor of the previous page")
    .optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "The previous page's next_cursor" }),
});

export const AccessLogQuery = z.object({
  limit: HistoryQuery.shape.limit,
  before: intLike()
    .pipe(z.number().min(1, "must be at least 1"))
    .optional()
    .openapi({
      param: { name: "before", in: "query" },
      description: "Only entries older than this id (the previous page's next_before)",
    }),
});

export const MemberBody = z
  .object({
    userId: z
      .union([z.string().regex(/^[1-9]\d{0,14}$/, "must be a user id"), z.number().int().min(1)])
      .optional()
      .openapi({ description: "The physician's or insurer's user id" }),
    email: email.optional().openapi({ description: "Or their email" }),
  })
  .strict()
  .refine((b) => (b.userId === undefined) !== (b.email === undefined), "send exactly one of userId, email")
  .openapi("CareTeamMemberAdd");

export const RecordSummary = z
  .object({
    patient_id: z.string(),
    name: z.object({ formatted: z.string(), familyName: z.string(), givenName: z.string() }),
    version: z.number().int().openapi({ description: "The last version noted for lists" }),
  })
  .openapi("CareRecordSummary");

export const RecordList = z
  .object({
    records: z.array(RecordSummary),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null on the last page" }),
  })
  .openapi("CareRecordList");

export const Member = z
  .object({
    user_id: z.string(),
    group: z.enum(["physicians", "insurers"]),
    name: z.object({ formatted: z.string(), familyName: z.string(), givenName: z.string() }),
    added_by: z.string().nullable().openapi({ description: "Who added them (null: the clinic's server)" }),
    added_at: z.string().openapi({ example: "2019-04-16T15:44:37Z" }),
  })
  .openapi("CareTeamMember");

export const Members = z.object({ patient_id: z.string(), members: z.array(Member) }).openapi("CareTeam");

export const MemberAdded = z.object({ member: Member, added: z.boolean() }).openapi("CareTeamMemberAdded");

export const MemberRemoved = z
  .object({ removed: z.literal(true), user_id: z.string() })
  .openapi("CareTeamMemberRemoved");

export const AccessLog = z
  .object({
    entries: z.array(
      z.object({
        id: z.number().int(),
        action: z.enum(["read", "write", "reset", "live"]),
        fields: z.array(z.enum(CARE_FIELDS)),
        user_id: z.string(),
        group: z.string().openapi({ description: "physicians, insurers or clinic_admin" }),
        at: z.string().openapi({ example: "2019-04-16T15:44:37Z" }),
      }),
    ),
    next_before: z.number().int().nullable(),
  })
  .openapi("CareAccessLog", {
    description: "Who read or wrote the record besides its patient; never values",
  });
