/**
 * The error families: one module each (./vsee.ts, ./accounts.ts, ./register.ts, ./admin.ts) with its wire
 * body, its OpenAPI error schema and the paths it owns. Every failure is an ApiError (../errors.ts); a
 * family app (`familyApp(name)` in ../openapi.ts) renders its routes' errors in its own shape, and the
 * app's own handlers (unknown paths, wrong methods, failures before routing) use `familyOf(path)`.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { dbErrorMessage } from "../../db/rows";
import type { AppEnv } from "../../types";
import { ApiError, type ErrorCode } from "../errors";
import { logger } from "../log";
import { isTransientStorageError } from "../storage-errors";
import { accounts } from "./accounts";
import { admin } from "./admin";
import { register } from "./register";
import type { ErrorFamily } from "./shared";
import { vsee } from "./vsee";

export const FAMILIES = { vsee, accounts, register, admin } satisfies Record<string, ErrorFamily>;

export type Family = keyof typeof FAMILIES;

const BY_PREFIX = Object.entries(FAMILIES).flatMap(([name, f]) =>
  f.prefixes.map((prefix) => [prefix, name as Family] as const),
);

/** The family that owns a path (paths no family owns answer in the admin/generic shape). */
export function familyOf(path: string): Family {
  for (const [prefix, family] of BY_PREFIX) {
    if (path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}.`)) return family;
  }
  return "admin";
}

/** An ApiError as its family's wire body. */
export function renderError(family: Family, err: ApiError): Record<string, unknown> {
  return FAMILIES[family].body(err);
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

/**
 * Any thrown value as the ApiError the client gets: ApiErrors as they are, Hono's own 4xx by status,
 * a transient storage failure as 503 + Retry-After, anything else as a logged 500 without internals.
 */
export function toApiError(err: unknown, c: Context<AppEnv>): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException && err.status < 500) {
    const code = HTTP_CODES[err.status] ?? "bad_request";
    return new ApiError(code, { status: err.status, message: err.status === 400 ? undefined : err.message });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (isTransientStorageError(e)) {
    // The platform's storage failed for a moment: nothing was half-written (every change is one batch),
    // so the client may send the same request again.
    logger(c.get("requestId")).warn("storage_unavailable", {
      method: c.req.method,
      route: c.req.routePath,
      message: dbErrorMessage(e),
    });
    return new ApiError("storage_unavailable", { headers: { "Retry-After": "1" } });
  }
  // Unexpected: log what helps, never request data (drizzle's messages carry query params, so only the
  // driver's own message and the stack frames are kept), and answer without internals.
  logger(c.get("requestId")).error("unexpected_error", {
    method: c.req.method,
    // The route's pattern, not the path: paths can carry secrets (/authentication/:accessToken).
    route: c.req.routePath,
    error: e.name,
    message: dbErrorMessage(e),
    stack: (e.stack ?? "")
      .split("\n")
      .filter((line) => line.trimStart().startsWith("at "))
      .slice(0, 12)
      .join("\n"),
  });
  return new ApiError("internal");
}

/** The paths a family answers with HTML pages, and how an error looks there (the portal's). */
export interface PageErrors {
  paths: ReadonlySet<string>;
  /** Other requests answered with a page (e.g. a browser asking HTML of an unknown path). */
  wants?(c: Context<AppEnv>): boolean;
  render(c: Context<AppEnv>, err: ApiError): Response | Promise<Response>;
}

/** An error as the response of `family` (an HTML page on the family's page paths). */
export function respondError(c: Context<AppEnv>, family: Family, err: ApiError, pages?: PageErrors) {
  if (pages && (pages.paths.has(c.req.path) || pages.wants?.(c))) return pages.render(c, err);
  return c.json(renderError(family, err), err.status as 400, err.headers);
}
