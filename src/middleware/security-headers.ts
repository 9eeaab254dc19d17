/**
 * Security headers on every response, whatever answered it (a route, the error handler, 404/405):
 *   - Strict-Transport-Security: HTTPS only, for two years, subdomains included;
 *   - X-Content-Type-Options: nosniff;
 *   - Referrer-Policy: no-referrer (URLs may carry tokens: GET /auth?sso_token=…, file auth codes);
 *   - Cache-Control: no-store unless the route chose a policy (public keys, the JWKS): responses carry
 *     tokens, codes and personal data, which no cache may keep;
 *   - framing refused: `frame-ancestors 'none'` and X-Frame-Options DENY. API responses also get
 *     `default-src 'none'` (nothing in a JSON body may load or run); HTML pages keep their own sources.
 * WebSocket upgrades (101) are handed through from the Durable Object untouched.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../types";

export const HSTS = "max-age=63072000; includeSubDomains";
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const PAGE_CSP = "frame-ancestors 'none'";

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.res.status === 101) return;
  const h = c.res.headers;
  h.set("Strict-Transport-Security", HSTS);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("X-Frame-Options", "DENY");
  if (!h.has("Referrer-Policy")) h.set("Referrer-Policy", "no-referrer");
  if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  if (!h.has("Content-Security-Policy")) {
    const html = (h.get("content-type") ?? "").startsWith("text/html");
    h.set("Content-Security-Policy", html ? PAGE_CSP : API_CSP);
  }
});
