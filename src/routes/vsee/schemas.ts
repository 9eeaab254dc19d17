/** Request and response schemas of the /api_v3 family, written from seed 000 (the wire shape is fixed). */
import { z } from "@hono/zod-openapi";
import { PASSWORD_MAX, PASSWORD_MIN } from "../../lib/password";
import {
  boolLike,
  email,
  flag01,
  hasControlCharacters,
  intLike,
  isoDate,
  listOf,
  NOT_WELL_FORMED,
  text,
  wellFormed,
} from "../../lib/schemas";
import { TIMEZONES, US_STATES } from "./constants";

// ---------- shared field schemas ----------

export const name = text(100).min(1, "is required");
const gender = z.enum(["male", "female"], { message: "must be male or female" });
const state = z
  .string()
  .trim()
  .transform((s) => s.toUpperCase())
  .refine((s) => US_STATES.has(s), "must be a two-letter US state code");
const zip = z
  .string()
  .trim()
  .regex(/^\d{5}(-\d{4})?$/, "must be a 5-digit ZIP code (or ZIP+4)");
const phone = z
  .string()
  .trim()
  .regex(/^\+?[0-9 ()./-]{7,20}$/, "must be a phone number");
const username = z
  .string()
  .trim()
  .min(3, "must be at least 3 characters")
  .max(128)
  .regex(/^[A-Za-z0-9._@+-]+$/, "may contain letters, digits and . _ @ + - only");
const timezone = z
  .string()
  .refine((tz) => Object.hasOwn(TIMEZONES, tz), "must be one of the timezones in the list");
export const password = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`)
  .refine(wellFormed, NOT_WELL_FORMED);

// ---------- response pieces ----------

const RefreshToken = z.object({
  user_id: z.string(),
  token: z.string(),
  expiry: z.number().int(),
  created: z.number().int(),
});

const Token = z.object({
  user_id: z.string(),
  token: z.string().openapi({ example: "0437c1ce3b7079906e2ff247aad1adda" }),
  expiry: z.number().int(),
  refresh_token: RefreshToken,
});

/** Who a user is: the first fields of every VSee user object. */
const identityFields = {
  id: z.string(),
  code: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  username: z.string(),
  vseeid: z.string(),
};

export const UserObject = z
  .object({
    ...identityFields,
    dob: z.string().nullable(),
    email: z.string().nullable(),
    gender: z.number().int().nullable().openapi({ description: "1 male, 2 female" }),
    photo: z.string().nullable(),
    active: z.boolean(),
    tos: z.boolean(),
    phone: z.string().nullable(),
    subtype: z.string(),
    street_addr: z.string().nullable(),
    state: z.string().nullable(),
    city: z.string().nullable(),
    zip: z.string().nullable(),
    pcp_name: z.string(),
    pcp_phone: z.string(),
    nationality: z.string().nullable(),
    timezone: z.string().nullable(),
  })
  .openapi("VseeUser");

export const ProfileRoom = z.object({
  id: z.string(),
  code: z.string(),
  slug: z.string(),
  name: z.string(),
  account_code: z.string(),
  domain: z.string(),
  default: z.boolean(),
  added_time: z.number().int(),
  source: z.string(),
});

export const Profile = UserObject.extend({
  user_id: z.string(),
  full_name: z.string(),
  status: z.number().int(),
  type: z.number().int(),
  email_verified: z.boolean(),
  roles: z.array(z.string()),
  group: z.string().nullable(),
  is_hidden: z.boolean(),
  last_login: z.number().int().nullable(),
  extra: z.record(z.string(), z.unknown()),
  account_code: z.string(),
  clinics: z.array(z.string()),
  rooms: z.array(ProfileRoom),
  created: z.number().int(),
}).openapi("VseeProfile");

export const SsoUser = z
  .object({
    ...identityFields,
    dob: z.string().optional(),
    active: z.boolean(),
    tos: z.boolean(),
    subtype: z.string(),
    token: Token,
    vsee: z.object({ id: z.string(), token: z.string() }).optional(),
  })
  .openapi("VseeSsoUser");

export const LoginData = z
  .object({
    user_id: z.string(),
    token: z.string(),
    expiry: z.number().int(),
    created: z.number().int(),
    user_type: z.string(),
    refresh_token: RefreshToken,
    user: UserObject,
  })
  .openapi("VseeLogin");

export const RefreshData = z
  .object({
    user_id: z.string(),
    user_type: z.string(),
    token: z.string(),
    expiry: z.number().int(),
    refresh_token: RefreshToken,
    user: z.object({
      id: z.string(),
      code: z.string(),
      username: z.string(),
      first_name: z.string(),
      last_name: z.string(),
      email: z.string().nullable(),
      dob: z.string().nullable(),
      gender: z.string().nullable(),
      photo: z.string().nullable(),
      name: z.string(),
    }),
  })
  .openapi("VseeRefresh");

export const Room = z
  .object({
    id: z.string(),
    code: z.string(),
    slug: z.string(),
    name: z.string(),
    domain: z.string(),
    created: z.number().int(),
    modified: z.number().int(),
  })
  .openapi("VseeRoom");

export const data = <T extends z.ZodType>(schema: T) => z.object({ data: schema });
export const list = <T extends z.ZodType>(schema: T) =>
  z.object({ data: z.array(schema), total_count: z.number().int() });
export { json } from "../../lib/openapi";

// ---------- request bodies ----------

export const SsoBody = z
  .object({
    first_name: name,
    last_name: name,
    type: intLike()
      .pipe(z.union([z.literal(200), z.literal(400), z.literal(600)], { message: "must be 200, 400 or 600" }))
      .openapi({ type: "integer", description: "200 member, 400 provider, 600 guest" }),
    code: text(128)
      .min(1)
      .optional()
      .openapi({ description: "Required for types 200 and 400: your unique id" }),
    dob: isoDate().optional(),
    email: email().optional(),
    username: username.optional(),
    disable_emails: flag01()
      .optional()
      .openapi({ type: "integer", enum: [0, 1] }),
    gender: gender.optional(),
    street_addr: text(200).optional(),
    city: text(100).optional(),
    state: state.optional(),
    zip: zip.optional(),
    phone: phone.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.type === 200 || v.type === 400) && !v.code) {
      ctx.addIssue({ code: "custom", path: ["code"], message: "is required for types 200 and 400" });
    }
  })
  .openapi("VseeSsoRequest");

export const LoginBody = z
  .object({
    username: z.string().trim().min(1).max(256).optional(),
    password: z.string().min(1).max(PASSWORD_MAX).refine(wellFormed, NOT_WELL_FORMED).optional(),
    email: z.string().trim().min(1).max(254).optional(),
    email_token: z.string().trim().min(1).max(64).optional(),
    totp: z
      .string()
      .trim()
      .regex(/^\d{6}$/, "must be the 6-digit code from your authenticator app")
      .optional()
      .openapi({
        description:
          "The current TOTP code, required (with either pair) when the user has two-factor on; without it, or with a wrong one, the answer is 401 `Two-factor code required…`",
      }),
  })
  .strict()
  .superRefine((v, ctx) => {
    const byPassword = v.username !== undefined || v.password !== undefined;
    const byToken = v.email !== undefined || v.email_token !== undefined;
    if (byPassword && byToken) {
      ctx.addIssue({ code: "custom", path: [], message: "send username + password, or email + email_token" });
    } else if (byToken) {
      if (!v.email) ctx.addIssue({ code: "custom", path: ["email"], message: "is required" });
      if (!v.email_token) ctx.addIssue({ code: "custom", path: ["email_token"], message: "is required" });
    } else {
      if (!v.username) ctx.addIssue({ code: "custom", path: ["username"], message: "is required" });
      if (!v.password) ctx.addIssue({ code: "custom", path: ["password"], message: "is required" });
    }
  })
  .openapi("VseeLoginRequest");

export const MeBody = z
  .object({
    password: password.optional(),
    old_password: z.string().max(PASSWORD_MAX).refine(wellFormed, NOT_WELL_FORMED).optional(),
    dob: isoDate().optional(),
    gender: gender.optional(),
    nationality: text(64).optional(),
    tos: flag01()
      .optional()
      .openapi({ type: "integer", enum: [0, 1] }),
    phone: z.union([phone, z.literal("")]).optional(),
    first_name: name.optional(),
    last_name: name.optional(),
    street_addr: text(200).optional(),
    state: z.union([state, z.literal("")]).optional(),
    zip: z.union([zip, z.literal("")]).optional(),
    city: text(100).optional(),
    pcp_name: text(200).optional(),
    pcp_phone: z.union([z.string().regex(/^\d{10}$/, "must be 10 digits"), z.literal("")]).optional(),
    timezone: timezone.optional(),
    photo: z.string().max(64).optional().openapi({ description: 'A file id, or "" to delete the photo' }),
  })
  .strict()
  .openapi("VseeMeUpdate");

export const RefreshBody = z.object({ refresh_token: z.string().trim().min(1).max(256) }).strict();

export const LogoutBody = z
  .object({ tokens: listOf(z.string().max(256), 50).optional() })
  .strict()
  .openapi("VseeLogoutRequest");

export const ResetBody = z.object({ email: email() }).strict();

export const ActivateBody = z
  .object({
    first_name: name,
    last_name: name,
    email: email(),
    dob: isoDate().optional(),
    ssn: z
      .string()
      .trim()
      .regex(/^\d{4}$/, "must be the last 4 digits")
      .optional(),
  })
  .strict()
  .openapi("VseeActivateRequest");

export const AliveBody = z
  .object({
    heartbeat: intLike()
      .pipe(z.number().min(60, "must be at least 60").max(3600, "must be at most 3600"))
      .optional()
      .openapi({ type: "integer", minimum: 60, maximum: 3600, default: 300 }),
  })
  .strict();

export const RoomBody = z
  .object({
    slug: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_-]+$/, "may contain letters, digits, - and _ only"),
    name: text(128).min(1, "is required"),
    code: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_-]+$/, "may contain letters, digits, - and _ only")
      .optional(),
    domain: text(253).min(1).optional(),
  })
  .strict()
  .openapi("VseeRoomRequest");

export const AssignRoomBody = z
  .object({
    room_code: z.string().trim().min(1).max(64).optional(),
    room_id: intLike().optional().openapi({ type: "integer" }),
  })
  .strict()
  .refine((v) => v.room_code !== undefined || v.room_id !== undefined, {
    message: "send room_code or room_id",
    path: ["room_code"],
  });

// ---------- queries ----------

const intList = listOf(
  z
    .string()
    .regex(/^\d{1,12}$/, "must be an integer")
    .transform(Number),
);

/** Text searched in the FTS table: at least 3 characters, no control characters (FTS5 cannot take NUL). */
const searchText = (max: number) =>
  z
    .string()
    .trim()
    .min(3, "must be at least 3 characters")
    .max(max)
    .refine((v) => !hasControlCharacters(v), "must not contain control characters");

export const UsersQuery = z.object({
  id: intList.optional().openapi({ type: "string", description: '123, "123,124" or id[]=123&id[]=124' }),
  type: intList.optional().openapi({ type: "string" }),
  status: intList.optional().openapi({ type: "string" }),
  subtype: intList.optional().openapi({ type: "string" }),
  role: listOf(z.enum(["clinic_admin", "scheduler"]))
    .optional()
    .openapi({ type: "string" }),
  full_name: searchText(100).optional(),
  email: searchText(254).optional(),
  q: searchText(100).optional(),
  ex_filter: z.enum(["all", "my-patient"]).optional(),
  is_hidden: boolLike().optional().openapi({ type: "boolean" }),
  is_admin: boolLike().optional().openapi({ type: "boolean" }),
  alive: boolLike()
    .optional()
    .openapi({ type: "boolean", description: "Only users whose heartbeat has not lapsed" }),
  room_code: z.string().trim().min(1).max(64).optional(),
  account_code: z.string().optional(),
  group: z.string().trim().min(1).max(64).optional(),
  sort: z
    .string()
    // Case-insensitive without a flag, so that the document's `pattern` is the same check.
    .regex(/^[A-Za-z_]+\.([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$/, "must look like full_name.asc")
    .optional()
    .openapi({ description: "full_name.asc, or sort[full_name]=asc" }),
  start: intLike().pipe(z.number().min(0)).optional().openapi({ type: "integer" }),
  limit: intLike()
    .pipe(z.number().min(1).max(100, "must be at most 100"))
    .optional()
    .openapi({ type: "integer" }),
  fields: listOf(z.string().max(32), 30).optional().openapi({ type: "string" }),
});

export const PageQuery = z.object({
  page: intLike().pipe(z.number().min(1)).optional().openapi({ type: "integer" }),
  limit: intLike()
    .pipe(z.number().min(1).max(100, "must be at most 100"))
    .optional()
    .openapi({ type: "integer" }),
});

export const FieldsQuery = z.object({ fields: z.string().max(64).optional() });

export const IdParam = z.object({
  id: z
    .string()
    .regex(/^\d{1,15}$/, "must be a user id")
    .transform(Number)
    .openapi({ param: { name: "id", in: "path" }, type: "string" }),
});

export const CodeParam = z.object({
  code: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "code", in: "path" } }),
});
