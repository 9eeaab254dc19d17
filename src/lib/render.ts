/**
 * One error renderer per API family: the same ApiError becomes each family's own wire shape.
 *   vsee     (/api_v3)      {"code": 400, "message": "…", "errors"?: [{param, message}]}
 *   accounts (Feathers)     {"name": "BadRequest", "message": "…", "code": 400, "className": "bad-request", "errors"?: {field: message}}
 *   register (/register, /state, /records, /.well-known/jwks.json) {"error": "…", "errors"?: [{param, message}]}
 *   admin    (/admin)       {"code": 409, "error": "clinic_exists", "message": "…", "errors"?: [{param, message}]}
 */
import type { ApiError } from "./errors";

export type Family = "vsee" | "accounts" | "register" | "admin";

const FAMILY_PREFIXES: [string, Family][] = [
  ["/api_v3", "vsee"],
  ["/admin", "admin"],
  ["/accounts", "accounts"],
  ["/account-waitlist", "accounts"],
  ["/authentication", "accounts"],
  ["/personal-details", "accounts"],
  ["/register", "register"],
  ["/state", "register"],
  ["/records", "register"],
  ["/.well-known/jwks.json", "register"],
];

/** The family that owns a path (unknown paths answer in the admin/generic shape). */
export function familyOf(path: string): Family {
  for (const [prefix, family] of FAMILY_PREFIXES) {
    if (path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}.`)) return family;
  }
  return "admin";
}

const FEATHERS: Record<number, [string, string]> = {
  400: ["BadRequest", "bad-request"],
  401: ["NotAuthenticated", "not-authenticated"],
  403: ["Forbidden", "forbidden"],
  404: ["NotFound", "not-found"],
  405: ["MethodNotAllowed", "method-not-allowed"],
  409: ["Conflict", "conflict"],
  // @feathersjs/errors has no class for 412, 413 or 415, and its convert() (what the Feathers client runs
  // on every error body) turns an unknown name into a plain Error. These keep their HTTP status and `code`,
  // and carry the name of the class a Feathers app should handle them as (README "Feathers v5 client"):
  // a stale version is a conflicting write; a too-large body and an unsupported content type are the
  // client's mistake to fix, which a Feathers server itself answers as BadRequest (its body parsers
  // ignore other content types, so the service refuses the empty data).
  412: ["Conflict", "conflict"],
  413: ["BadRequest", "bad-request"],
  415: ["BadRequest", "bad-request"],
  429: ["TooManyRequests", "too-many-requests"],
  500: ["GeneralError", "general-error"],
  503: ["Unavailable", "unavailable"],
};

export function renderError(family: Family, err: ApiError): Record<string, unknown> {
  switch (family) {
    case "vsee":
      return { code: err.status, message: err.message, ...(err.fields ? { errors: err.fields } : {}) };
    case "accounts": {
      const [name, className] = FEATHERS[err.status] ?? ["GeneralError", "general-error"];
      const body: Record<string, unknown> = { name, message: err.message, code: err.status, className };
      if (err.fields) body.errors = Object.fromEntries(err.fields.map((f) => [f.param, f.message]));
      return body;
    }
    case "register":
      return err.fields
        ? {
            error: err.code === "validation_failed" ? "Invalid request body" : err.message,
            errors: err.fields,
          }
        : { error: err.message };
    case "admin":
      return {
        code: err.status,
        error: err.code,
        message: err.message,
        ...(err.fields ? { errors: err.fields } : {}),
      };
  }
}
