/**
 * Builds the application: request ids, the API families mounted under their paths, the OpenAPI
 * document and its reference page, and the one error handler that renders every failure in the shape
 * of the family that owns the path (an HTML page on the portal's page paths).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { getPath as defaultGetPath } from "hono/utils/url";
import { dbErrorMessage } from "./db/rows";
import { ApiError, type ErrorCode } from "./lib/errors";
import { logger } from "./lib/log";
import { finishDocument, SECURITY, SECURITY_SCHEMES, validationHook } from "./lib/openapi";
import { familyOf, renderError } from "./lib/render";
import { RoutesIndex } from "./lib/routes-index";
import { isTransientStorageError } from "./lib/storage-errors";
import { cors } from "./middleware/cors";
import { securityHeaders } from "./middleware/security-headers";
import { accountsFamily } from "./routes/accounts";
import { admin } from "./routes/admin";
import { docs } from "./routes/docs";
import { register } from "./routes/register";
import { vsee } from "./routes/vsee";
import { web } from "./routes/web";
import { errorPage, wantsPage } from "./routes/web/guard";
import type { AppEnv } from "./types";

/** VSee clients call `/api_v3/users/sso.json`: `.json` is stripped from /api_v3 paths before routing. */
export function getPath(req: Request): string {
  const path = defaultGetPath(req);
  return path.startsWith("/api_v3/") && path.endsWith(".json") ? path.slice(0, -5) : path;
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

function toApiError(err: unknown, c: Context<AppEnv>): ApiError {
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

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, getPath });

  app.use("*", requestId({ headerName: "X-Request-Id" }));
  app.use("*", securityHeaders);
  app.use("*", cors);

  app.openapi(
    createRoute({
      method: "get",
      path: "/health",
      operationId: "getHealth",
      security: SECURITY.public,
      tags: ["meta"],
      summary: "Liveness",
      responses: {
        200: {
          description: "Up",
          content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
        },
      },
    }),
    (c) => c.json({ status: "ok" as const }, 200),
  );
  // Chained, so that the app's type carries every family's routes (Hono's RPC client: `hc<AppType>`).
  const routed = app
    .route("/admin", admin)
    .route("/api_v3", vsee)
    .route("/", web)
    .route("/", register)
    .route("/", accountsFamily);

  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  }
  // The document is built once per isolate (it only depends on the routes) and served with this origin.
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get("/openapi.json", (c) => {
    document ??= finishDocument(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "Clinic Edge",
          version: "0.1.0",
          description:
            "Telehealth identity and care-state API on Cloudflare Workers. Families: /api_v3 (VSee-compatible), accounts (Feathers-style), register/state, and the operators' /admin API.",
        },
      }),
    );
    return c.json({ ...document, servers: [{ url: new URL(c.req.url).origin }] });
  });
  app.route("/", docs);

  const index = new RoutesIndex(() => app.routes);

  app.notFound((c) => {
    const methods = index.methodsFor(c.req.path);
    const err =
      methods.length > 0
        ? new ApiError("method_not_allowed", { headers: { Allow: methods.join(", ") } })
        : new ApiError("route_not_found");
    return respond(c, err);
  });

  app.onError((err, c) => respond(c, toApiError(err, c)));

  return routed;
}

function respond(c: Context<AppEnv>, err: ApiError) {
  // The portal's pages answer browsers: their errors are pages too (JSON endpoints keep JSON).
  if (wantsPage(c)) return errorPage(c, err);
  const family = familyOf(c.req.path);
  return c.json(renderError(family, err), err.status as 400, err.headers);
}

export const app = createApp();

/** The app's routes as a type, for Hono's RPC client: `hc<AppType>("https://clinic-edge.example")`. */
export type AppType = typeof app;
