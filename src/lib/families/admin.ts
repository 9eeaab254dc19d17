/**
 * The operators' /admin API, and every path no family owns: `{"code": 409, "error": "clinic_exists",
 * "message": "…", "errors"?: [{param, message}]}` (the error table's code, for scripts to branch on).
 */
import { z } from "@hono/zod-openapi";
import { describeStatus, type ErrorFamily, fieldError } from "./shared";

export const admin: ErrorFamily = {
  prefixes: ["/admin"],
  body: (err) => ({
    code: err.status,
    error: err.code,
    message: err.message,
    ...(err.fields ? { errors: err.fields } : {}),
  }),
  schema: z
    .object({
      code: z.number().int(),
      error: z.string(),
      message: z.string(),
      errors: z.array(fieldError).optional(),
    })
    .openapi("AdminError"),
  describe: describeStatus,
};
