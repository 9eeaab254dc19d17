import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody, z } from "../../lib/openapi";
import { boolLike, intLike, text } from "../../lib/schemas";
import { requireAdmin } from "../../middleware/admin";
import { CARE_FIELDS, GROUPS } from "../../services/care";
import { ACCENT_COLOR, isLogoUrl } from "../../services/portal";

const tags = ["admin"];
const security = SECURITY.admin;

const code = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9_-]{1,62}$/, "must be 2-63 lowercase letters, digits, '-' or '_'");

const eligibilityEntry = z
  .object({
    first_name: text(100).min(1),
    last_name: text(100).min(1),
    dob: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date in YYYY-MM-DD format"),
    ssn: z
      .string()
      .regex(/^\d{4}$/, "must be the last 4 digits")
      .optional(),
    email: z.string().email().optional(),
  })
  .strict();

/** An origin as browsers send it: http(s)://host[:port], nothing after (a trailing slash is tolerated). */
const origin = z
  .string()
  .max(253)
  .refine((v) => {
    try {
      const url = new URL(v);
      return /^https?:$/.test(url.protocol) && url.origin === v.replace(/\/$/, "");
    } catch {
      return false;
    }
  }, "must be an origin such as https://portal.example.com (scheme, host and port only)");

const settings = z
  .object({
    lockoutThreshold: z.number().int().min(1).max(100).optional(),
    lockoutBaseSeconds: z.number().int().min(1).max(86400).optional(),
    lockoutMaxSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .optional(),
    codesPerHour: z.number().int().min(1).max(100).optional(),
    corsOrigins: z.array(origin).max(50).optional(),
    auditRetentionDays: z.number().int().min(1).max(3650).optional(),
    selfRegisterGroups: z
      .array(z.enum(GROUPS))
      .max(3)
      .optional()
      .openapi({ description: "Register family: groups that register without the API key (default none)" }),
    careRecordMode: z.enum(["per_patient", "shared"]).optional().openapi({
      description:
        "Register family: per_patient (default: one record per patient and care team) or shared (the seed demo's one clinic record behind /state)",
    }),
    careReadFields: z
      .object(Object.fromEntries(GROUPS.map((g) => [g, z.array(z.enum(CARE_FIELDS)).max(4).optional()])))
      .strict()
      .optional()
      .openapi({
        description:
          "Register family: the fields each group reads (default all four; a group always reads the fields it writes)",
      }),
    logoUrl: z
      .string()
      .max(2048)
      .refine(isLogoUrl, "must be an https URL")
      .nullable()
      .optional()
      .openapi({ description: "Portal branding: an https URL of the clinic's logo (null removes it)" }),
    accentColor: z
      .string()
      .regex(ACCENT_COLOR, "must be a hex colour such as #0b5cad")
      .nullable()
      .optional()
      .openapi({ description: "Portal branding: the accent colour, #rrggbb (null: the default)" }),
  })
  .strict();

const portalUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL")
  .nullable();

const clinicFields = {
  name: text(200).min(1),
  domain: text(253).min(1),
  portal_base_url: portalUrl.optional(),
  sso_enabled: boolLike().optional(),
  signup_mode: z.enum(["open", "invite_only"]).optional(),
  eligibility: z.array(eligibilityEntry).max(10000).nullable().optional(),
  default_heartbeat: intLike().pipe(z.number().min(60).max(3600)).optional(),
  settings: settings.optional(),
};

export const ClinicCreate = z
  .object({ code, ...clinicFields })
  .strict()
  .openapi("ClinicCreate");
export const ClinicPatch = z
  .object({
    ...Object.fromEntries(Object.entries(clinicFields).map(([k, v]) => [k, v.optional()])),
    disabled: boolLike().optional(),
  } as { [K in keyof typeof clinicFields]: z.ZodOptional<(typeof clinicFields)[K]> } & {
    disabled: z.ZodOptional<ReturnType<typeof boolLike>>;
  })
  .strict()
  .openapi("ClinicPatch");

export const Clinic = z
  .object({
    code: z.string(),
    name: z.string(),
    domain: z.string(),
    portal_base_url: z.string().nullable(),
    sso_enabled: z.boolean(),
    signup_mode: z.enum(["open", "invite_only"]),
    eligibility: z.array(z.record(z.string(), z.string())).nullable(),
    default_heartbeat: z.number().int(),
    settings: z.record(z.string(), z.unknown()),
    api_key_prefix: z.string(),
    disabled: z.boolean(),
    created: z.number().int(),
    modified: z.number().int(),
  })
  .openapi("Clinic");

const WithKey = z
  .object({
    clinic: Clinic,
    api_key: z
      .string()
      .openapi({ description: "The clinic's API key. Shown once: only its hash is stored." }),
  })
  .openapi("ClinicWithKey");

const CodeParam = z.object({ code: z.string().openapi({ param: { name: "code", in: "path" } }) });

export const createClinic = createRoute({
  method: "post",
  path: "/clinics",
  operationId: "adminCreateClinic",
  tags,
  security,
  summary: "Create a clinic (returns its API key once)",
  middleware: [requireAdmin, withBody] as const,
  request: { body: formBody(ClinicCreate) },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: WithKey } } },
    ...errorResponses("admin", ...BODY_ERRORS, 401, 409, 503),
  },
});

export const listClinics = createRoute({
  method: "get",
  path: "/clinics",
  operationId: "adminListClinics",
  tags,
  security,
  summary: "List clinics",
  middleware: [requireAdmin] as const,
  request: {
    query: z.object({
      start: intLike().pipe(z.number().min(0)).optional(),
      limit: intLike().pipe(z.number().min(1).max(100)).optional(),
    }),
  },
  responses: {
    200: {
      description: "Clinics",
      content: {
        "application/json": {
          schema: z.object({
            data: z.array(Clinic),
            total: z.number().int(),
            start: z.number(),
            limit: z.number(),
          }),
        },
      },
    },
    ...errorResponses("admin", 400, 401, 503),
  },
});

export const getClinic = createRoute({
  method: "get",
  path: "/clinics/{code}",
  operationId: "adminGetClinic",
  tags,
  security,
  summary: "Read a clinic",
  middleware: [requireAdmin] as const,
  request: { params: CodeParam },
  responses: {
    200: {
      description: "The clinic",
      content: { "application/json": { schema: z.object({ clinic: Clinic }) } },
    },
    ...errorResponses("admin", 401, 404, 503),
  },
});

export const patchClinic = createRoute({
  method: "patch",
  path: "/clinics/{code}",
  operationId: "adminUpdateClinic",
  tags,
  security,
  summary: "Change a clinic's settings",
  middleware: [requireAdmin, withBody] as const,
  request: { params: CodeParam, body: formBody(ClinicPatch) },
  responses: {
    200: {
      description: "The clinic",
      content: { "application/json": { schema: z.object({ clinic: Clinic }) } },
    },
    ...errorResponses("admin", ...BODY_ERRORS, 401, 404, 503),
  },
});

export const rotateKey = createRoute({
  method: "post",
  path: "/clinics/{code}/rotate-key",
  operationId: "adminRotateClinicKey",
  tags,
  security,
  summary: "Replace a clinic's API key (the old one stops working at once)",
  middleware: [requireAdmin] as const,
  request: { params: CodeParam },
  responses: {
    200: { description: "The new key", content: { "application/json": { schema: WithKey } } },
    ...errorResponses("admin", 401, 404, 503),
  },
});
