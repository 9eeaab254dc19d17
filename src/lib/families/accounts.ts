/**
 * The accounts family (Feathers services): `{"name": "BadRequest", "message": "…", "code": 400,
 * "className": "bad-request", "errors"?: {field: message}}`, the shape @feathersjs/errors serialises.
 */
import { z } from "@hono/zod-openapi";
import { describeStatus, type ErrorFamily } from "./shared";

/** HTTP status → the @feathersjs/errors class a Feathers client turns the body into (name, className). */
export const FEATHERS_CLASSES: Record<number, [string, string]> = {
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

const classOf = (status: number) => FEATHERS_CLASSES[status] ?? ["GeneralError", "general-error"];

export const accounts: ErrorFamily = {
  prefixes: ["/accounts", "/account-waitlist", "/authentication", "/personal-details"],
  body: (err) => {
    const [name, className] = classOf(err.status);
    const body: Record<string, unknown> = { name, message: err.message, code: err.status, className };
    if (err.fields) body.errors = Object.fromEntries(err.fields.map((f) => [f.param, f.message]));
    return body;
  },
  schema: z
    .object({
      name: z.string(),
      message: z.string(),
      code: z.number().int(),
      className: z.string(),
      errors: z.record(z.string(), z.string()).optional(),
    })
    .openapi("FeathersError"),
  describe: (status) => `${classOf(status)[0]}: ${describeStatus(status)}`,
};
