/**
 * Field schemas shared by the families. Form clients send every value as a string, JSON clients send
 * numbers and booleans: these schemas accept both and produce one type.
 */
import { z } from "@hono/zod-openapi";

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

/** True when the text contains C0 control characters or DEL (tabs and newlines included). */
export function hasControlCharacters(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const ch = v.charCodeAt(i);
    if (ch < 0x20 || ch === 0x7f) return true;
  }
  return false;
}
