/** register/state/records (seed 003, the Ionic demo's server): `{"error": "…", "errors"?: [{param, message}]}`. */
import { z } from "@hono/zod-openapi";
import { describeStatus, type ErrorFamily, fieldError } from "./shared";

export const register: ErrorFamily = {
  prefixes: ["/register", "/state", "/records", "/.well-known/jwks.json"],
  body: (err) =>
    err.fields
      ? { error: err.code === "validation_failed" ? "Invalid request body" : err.message, errors: err.fields }
      : { error: err.message },
  schema: z.object({ error: z.string(), errors: z.array(fieldError).optional() }).openapi("RegisterError"),
  describe: describeStatus,
};
