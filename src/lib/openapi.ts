/**
 * Route-definition helpers shared by every family: the validation hook (zod issues → ApiError with
 * per-field errors), request bodies accepted as JSON, urlencoded and multipart alike, and the error
 * responses each route lists in the OpenAPI document in its family's shape.
 */
import { OpenAPIHono, type z as Z, z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import type { AppEnv } from "../types";
import { bodyReader } from "./body";
import { type FieldError, invalid } from "./errors";
import { FAMILIES, type Family, type PageErrors, respondError, toApiError } from "./families";
import { EXAMPLES, type Example } from "./openapi-examples";

z.config({
  customError: (issue) => {
    if (issue.code === "invalid_type" && issue.input === undefined) return "is required";
    if (issue.code === "invalid_type") {
      const expected = issue.expected === "int" ? "integer" : issue.expected;
      return `must be ${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}`;
    }
    return undefined;
  },
});

/** zod issues → field errors (unknown keys become one error per key). */
export function fieldErrors(error: Z.core.$ZodError): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push({ param: base ? `${base}.${key}` : key, message: "is not an allowed field" });
    } else {
      out.push({ param: base || "body", message: issue.message });
    }
  }
  return out;
}

/** The validation hook of every family app: failures are thrown as ApiError and rendered by onError. */
export const validationHook = (result: { success: boolean; error?: unknown }) => {
  if (!result.success) throw invalid(fieldErrors(result.error as Z.core.$ZodError));
};

/**
 * The app of one API family: its routes' errors (thrown by handlers, middleware or validation) are
 * rendered in the family's shape, or as the family's pages on its page paths.
 */
export function familyApp(family: Family, pages?: PageErrors) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError((err, c) => respondError(c, family, toApiError(err, c), pages));
  return app;
}

/** A JSON response of the document: `responses: { 200: json(Schema, "What it is") }`. */
export const json = <T extends ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/**
 * A request body accepted as JSON, urlencoded or multipart (the one body reader turns all three into the
 * same object before validation). Use together with `withBody` in the route's middleware.
 */
export function formBody<T extends ZodType>(schema: T, description?: string) {
  const body = {
    description,
    content: {
      "application/json": { schema },
      "application/x-www-form-urlencoded": { schema },
      "multipart/form-data": { schema },
    },
  };
  // Typed as JSON only: the document and the server accept all three, but @hono/zod-openapi's input type
  // would otherwise ask Hono's RPC client (`hc<AppType>`) for a `json` *and* a `form` body at once.
  return body as { description?: string; content: { "application/json": { schema: T } } };
}

/** Route middleware that reads the body (see lib/body.ts); put it after auth middleware. */
export const withBody = bodyReader;

type Security = Record<string, string[]>[];

/**
 * The security schemes of the document (components.securitySchemes; registered by `documentApp`). The
 * names are those the routes' requirements (`SECURITY`) use.
 */
export const SECURITY_SCHEMES = {
  adminKey: { type: "http", scheme: "bearer", description: "ADMIN_API_KEY (operators)" },
  apiToken: {
    type: "apiKey",
    in: "header",
    name: "X-ApiToken",
    description: "A user's access token (data.token.token of SSO or login)",
  },
  apiBearer: {
    type: "http",
    scheme: "bearer",
    description: "A user's access token as `Authorization: Bearer` (the same token as X-ApiToken)",
  },
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "X-ApiKey",
    description: "The clinic's API key (server-to-server; always with X-AccountCode)",
  },
  accountCode: { type: "apiKey", in: "header", name: "X-AccountCode", description: "The clinic's code" },
  bearerJwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "Accounts-family access token (accessToken of POST /authentication)",
  },
  registerToken: { type: "http", scheme: "bearer", description: "Register-family bearer token" },
  portalSession: {
    type: "apiKey",
    in: "cookie",
    name: "ce_session",
    description: "The portal's HttpOnly session cookie (set by GET /auth and POST /login)",
  },
  csrfToken: {
    type: "apiKey",
    in: "header",
    name: "X-CSRF-Token",
    description: "With the session cookie: the CSRF token of the page (its csrf-token meta tag)",
  },
  registerProtocol: {
    type: "apiKey",
    in: "header",
    name: "Sec-WebSocket-Protocol",
    description: "WebSocket clients: offer the subprotocols `care-state, bearer.<token>`",
  },
  registerQuery: {
    type: "apiKey",
    in: "query",
    name: "token",
    description: "WebSocket clients that cannot send the token otherwise",
  },
} as const;

/** Security requirements of routes (the schemes above). */
export const SECURITY = {
  /** No credentials (sign-in, public keys, signed file URLs): `security: []` in the document. */
  public: [] as Security,
  admin: [{ adminKey: [] }] as Security,
  token: [{ apiToken: [] }, { apiBearer: [] }] as Security,
  apiKey: [{ apiKey: [], accountCode: [] }] as Security,
  tokenOrKey: [{ apiToken: [] }, { apiBearer: [] }, { apiKey: [], accountCode: [] }] as Security,
  jwt: [{ bearerJwt: [] }] as Security,
  register: [{ registerToken: [] }] as Security,
  /** Public; a user's bearer token or the clinic's API key prove who registers an existing email again. */
  registerOptional: [{}, { registerToken: [] }, { apiKey: [], accountCode: [] }] as Security,
  /** WebSockets: browsers cannot set headers, so the token may also come in the subprotocol or the query. */
  registerLive: [{ registerToken: [] }, { registerProtocol: [] }, { registerQuery: [] }] as Security,
  /** The portal's session cookie (pages and their JSON endpoints). */
  portal: [{ portalSession: [] }] as Security,
  /** A token, or the portal's session cookie with the page's CSRF token (scripts of the portal's pages). */
  tokenOrPortal: [{ apiToken: [] }, { apiBearer: [] }, { portalSession: [], csrfToken: [] }] as Security,
};

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 429 | 500 | 503;

/** The error responses of a route, in its family's shape, for the OpenAPI document (500 always). */
export function errorResponses<S extends ErrorStatus>(family: Family, ...statuses: S[]) {
  const all = [...new Set<ErrorStatus>([...statuses, 500])];
  const f = FAMILIES[family];
  return Object.fromEntries(
    all.map((status) => [
      status,
      { description: f.describe(status), content: { "application/json": { schema: f.schema } } },
    ]),
  ) as Record<S | 500, { description: string; content: { "application/json": { schema: ZodType } } }>;
}

/** Statuses every route with a body can answer. */
export const BODY_ERRORS = [400, 413, 415] as const;

export { z };

interface MediaType {
  schema?: unknown;
  examples?: Record<string, Example>;
}
interface Operation {
  operationId?: string;
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, { content?: Record<string, MediaType> }>;
}
interface Document {
  paths?: Record<string, Record<string, Operation>>;
}

/**
 * The finishing touches of the generated document, in one place rather than in every route: request
 * bodies are `required` (the body reader treats a missing body as `{}`, so a client that sends the
 * fields it means to always sends a body; the route definitions cannot say it themselves, since
 * @hono/zod-openapi would then also run its form validator on the JSON the body reader hands on), and
 * the seeds' examples (lib/openapi-examples.ts) are attached to their operations, request bodies in
 * every media type.
 */
export function finishDocument<D extends object>(document: D): D {
  const doc = document as Document;
  const seen = new Set<string>();
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item)) {
      const body = op.requestBody;
      if (body) body.required = true;
      const examples = op.operationId ? EXAMPLES[op.operationId] : undefined;
      if (!op.operationId || !examples) continue;
      seen.add(op.operationId);
      if (examples.request) {
        if (!body?.content) throw new Error(`${op.operationId}: request examples but no request body`);
        for (const media of Object.values(body.content)) media.examples = examples.request;
      }
      for (const [status, named] of Object.entries(examples.responses ?? {})) {
        const media = op.responses?.[status]?.content?.["application/json"];
        if (!media) throw new Error(`${op.operationId}: examples for ${status}, which it does not answer`);
        media.examples = named;
      }
    }
  }
  const unknown = Object.keys(EXAMPLES).filter((id) => !seen.has(id));
  if (unknown.length > 0) throw new Error(`Examples for unknown operations: ${unknown.join(", ")}`);
  return document;
}
