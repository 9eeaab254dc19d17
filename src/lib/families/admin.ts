/**
 * The operators' /admin API, and every path no family owns: `{"code": 409, "error": "clinic_exists",
 * "message": "…", "errors"?: [{param, message}]}` (the error table's code, for scripts to branch on; a code
 * with `wire` in the table answers that one).
 */
import { z } from "@hono/zod-openapi";
import { ERRORS, type ErrorCode } from "../errors";
import { describeStatus, type ErrorFamily, fieldError } from "./shared";

/** The code scripts see: a few specific codes keep the generic code the admin shape always answered. */
function wireCode(code: ErrorCode): string {
  const def = ERRORS[code];
  return "wire" in def ? def.wire : code;
}

export const admin: ErrorFamily = {
  prefixes: ["/admin"],
  body: (err) => ({
    code: err.status,
    error: wireCode(err.code),
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
