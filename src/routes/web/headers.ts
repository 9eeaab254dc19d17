/**
 * Response headers of the portal's pages (and of their assets and JSON endpoints): a Content-Security-Policy
 * that allows only this site's own scripts and styles (no inline script, no eval) and no framing, plus the
 * usual hardening. Headers a handler set itself (e.g. /auth's `Referrer-Policy: no-referrer`, the assets'
 * `Cache-Control`) are kept.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../types";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/**
 * The policy of a page: the same, with a clinic's logo origin (an https URL, validated by the admin API
 * and again when read) added to `img-src`. Nothing else of another origin is ever allowed.
 */
export function contentSecurityPolicy(logoUrl?: string): string {
  if (!logoUrl) return CONTENT_SECURITY_POLICY;
  let origin: string;
  try {
    const url = new URL(logoUrl);
    if (url.protocol !== "https:") return CONTENT_SECURITY_POLICY;
    origin = url.origin;
  } catch {
    return CONTENT_SECURITY_POLICY;
  }
  return CONTENT_SECURITY_POLICY.replace("img-src 'self'", `img-src 'self' ${origin}`);
}

const PAGE_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "Cross-Origin-Opener-Policy": "same-origin",
  // Pages show who is signed in and who is waiting: never stored by the browser or a proxy.
  "Cache-Control": "no-store",
};

export function applyPageHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) if (!headers.has(name)) headers.set(name, value);
}

/** Route middleware: adds the page headers to whatever the route answers (errors included). */
export const pageHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  applyPageHeaders(c.res.headers);
});
