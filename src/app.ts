/**
 * Builds the application: request ids, the API families mounted under their paths, the OpenAPI
 * document and its reference page, and the one error handler that renders every failure in the shape
 * of the family that owns the path (an HTML page on the portal's page paths).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requestId } from "hono/request-id";
import { getPath as defaultGetPath } from "hono/utils/url";
import { ApiError } from "./lib/errors";
import { familyOf, respondError, toApiError } from "./lib/families";
import { finishDocument, SECURITY, SECURITY_SCHEMES, validationHook } from "./lib/openapi";
import { RoutesIndex } from "./lib/routes-index";
import { cors } from "./middleware/cors";
import { securityHeaders } from "./middleware/security-headers";
import { accountsFamily } from "./routes/accounts";
import { admin } from "./routes/admin";
import { docs } from "./routes/docs";
import { registerFamily } from "./routes/register";
import { vsee } from "./routes/vsee";
import { pageErrors, web } from "./routes/web";
import type { AppEnv } from "./types";

/** VSee clients call `/api_v3/users/sso.json`: `.json` is stripped from /api_v3 paths before routing. */
export function getPath(req: Request): string {
  const path = defaultGetPath(req);
  return path.startsWith("/api_v3/") && path.endsWith(".json") ? path.slice(0, -5) : path;
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
    .route("/", registerFamily)
    .route("/", accountsFamily);

  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  }
  // The document is built once per isolate (it only depends on the routes) and serialised once per origin
  // it is served with (a few: the Host header names it, so at most SERVED_ORIGINS are kept).
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  const served = new Map<string, string>();
  const SERVED_ORIGINS = 8;
  app.get("/openapi.json", (c) => {
    const origin = new URL(c.req.url).origin;
    const text = served.get(origin);
    if (text !== undefined) return c.body(text, 200, { "Content-Type": "application/json" });
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
    const json = JSON.stringify({ ...document, servers: [{ url: origin }] });
    if (served.size >= SERVED_ORIGINS) served.clear();
    served.set(origin, json);
    return c.body(json, 200, { "Content-Type": "application/json" });
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

/** Failures outside a family's routes (unknown paths, wrong methods, the app's own middleware). */
function respond(c: Context<AppEnv>, err: ApiError) {
  return respondError(c, familyOf(c.req.path), err, pageErrors);
}

export const app = createApp();

/** The app's routes as a type, for Hono's RPC client: `hc<AppType>("https://clinic-edge.example")`. */
export type AppType = typeof app;
