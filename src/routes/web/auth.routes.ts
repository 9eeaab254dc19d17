import { createRoute } from "@hono/zod-openapi";
import { SECURITY, z } from "../../lib/openapi";
import { rateLimit } from "../../middleware/rate-limit";
import { pageHeaders } from "./headers";
import { html, pageError } from "./pages.routes";

export const webAuth = createRoute({
  method: "get",
  path: "/auth",
  operationId: "portalSsoSignIn",
  security: SECURITY.public,
  tags: ["portal"],
  summary: "Web sign-in with an SSO token, then redirect to `next`",
  description:
    "Validates `sso_token` (data.token.token of POST /api_v3/users/sso or /users/login), sets the portal session cookie (HttpOnly, Secure, SameSite=Lax) and redirects (302) to `next` when it is a path on this site (otherwise to /). An invalid, expired or burnt token answers 401 and never sets a session or redirects to `next`. `one_time_token=1` burns the token.",
  middleware: [pageHeaders, rateLimit("CREDENTIALS_LIMITER", "web-auth")] as const,
  request: {
    query: z.object({
      sso_token: z.string().max(128).optional(),
      next: z.string().max(2048).optional(),
      one_time_token: z.string().max(8).optional(),
      disable_navigation: z.string().max(8).optional(),
    }),
  },
  responses: {
    302: { description: "Signed in: redirect to `next` (or /)" },
    400: html("Invalid query (an HTML page)"),
    401: html("Invalid, expired or burnt token (an HTML page)"),
    429: html("Too many sign-in attempts from this client (an HTML page, with Retry-After)"),
    500: pageError,
  },
});
