/** /api_v3 (VSee API v3): `{"code": 400, "message": "…", "errors"?: [{param, message}]}`. */
import { z } from "@hono/zod-openapi";
import { describeStatus, type ErrorFamily, fieldError } from "./shared";

export const vsee: ErrorFamily = {
  prefixes: ["/api_v3"],
  body: (err) => ({ code: err.status, message: err.message, ...(err.fields ? { errors: err.fields } : {}) }),
  schema: z
    .object({ code: z.number().int(), message: z.string(), errors: z.array(fieldError).optional() })
    .openapi("VseeError"),
  describe: describeStatus,
};
