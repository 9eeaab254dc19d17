/**
 * Field schemas shared by the families. Form clients send every value as a string, JSON clients send
 * numbers and booleans: these schemas accept both and produce one type.
 */
import { z } from "@hono/zod-openapi";
import { AUDIT_EVENTS } from "../db/schema";

/** An integer sent as a number or a decimal string. */
export const intLike = () =>
  z
    .union([
      z.number().int(),
      z
        .string()
        .trim()
        .regex(/^-?\d{1,15}$/, "must be an integer"),
    ])
    .transform((v) => Number(v));

/** A boolean sent as true/false, 1/0, "true"/"false", "1"/"0". */
export const boolLike = () =>
  z
    .union([z.boolean(), z.literal(0), z.literal(1), z.enum(["true", "false", "1", "0"])])
    .transform((v) => v === true || v === 1 || v === "true" || v === "1");

/** 0 or 1 (VSee flags such as tos, disable_emails) sent as a number or string. */
export const flag01 = () =>
  z
    .union([z.literal(0), z.literal(1), z.enum(["0", "1"]), z.boolean()])
    .transform((v) => v === 1 || v === "1" || v === true);

/** A list sent as an array, a comma-separated string, or a single value. */
export const listOf = <T extends z.ZodType<unknown, string>>(item: T, max = 100) =>
  z
    .union([z.array(z.union([z.string(), z.number()])).max(max), z.string(), z.number()])
    .transform((v) =>
      (Array.isArray(v) ? v : String(v).split(",")).map((x) => String(x).trim()).filter((x) => x !== ""),
    )
    .pipe(z.array(item).max(max));

export const isoDate = () =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date in YYYY-MM-DD format")
    .refine((v) => {
      const d = new Date(`${v}T00:00:00Z`);
      return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(v);
    }, "must be a valid date");

export const email = () => z.string().trim().max(254).email("must be a valid email address");

/** Single-line text without control characters. */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !hasControlCharacters(v), "must not contain control characters");

/**
 * Passwords must be well-formed UTF-16: a lone surrogate (U+D800…U+DFFF unpaired) has no UTF-8 form, so
 * hashing the UTF-8 bytes would turn every one into U+FFFD and make different passwords collide.
 */
export const wellFormed = (v: string) => v.isWellFormed();
export const NOT_WELL_FORMED = "must be valid Unicode text (no unpaired surrogate characters)";

/** True when the text contains C0 control characters or DEL (tabs and newlines included). */
export function hasControlCharacters(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const ch = v.charCodeAt(i);
    if (ch < 0x20 || ch === 0x7f) return true;
  }
  return false;
}

/** The filters of the audit log readers (GET /api_v3/audit, GET /admin/audit). */
export const auditFilterFields = () => ({
  event: z
    .enum(AUDIT_EVENTS)
    .optional()
    .openapi({ description: `One of ${AUDIT_EVENTS.join(", ")}` }),
  outcome: z.enum(["success", "failure"]).optional(),
  user_id: intLike()
    .pipe(z.number().min(1))
    .optional()
    .openapi({ type: "integer", description: "Rows where this user acted or was acted upon" }),
  since: intLike()
    .pipe(z.number().min(0))
    .optional()
    .openapi({ type: "integer", description: "From this time on (unix seconds, inclusive)" }),
  until: intLike()
    .pipe(z.number().min(0))
    .optional()
    .openapi({ type: "integer", description: "Before this time (unix seconds, exclusive)" }),
  start: intLike().pipe(z.number().min(0).max(1_000_000)).optional().openapi({ type: "integer" }),
  limit: intLike()
    .pipe(z.number().min(1).max(100, "must be at most 100"))
    .optional()
    .openapi({ type: "integer", description: "Rows per page (1-100, default 20)" }),
});
