/**
 * CSRF protection of the portal (cookie-authenticated requests):
 *  - a session's token is an HMAC of its session id (keyed by JWT_SECRET, purpose-separated), so that it is
 *    tied to that session, needs no storage, and dies with the session. Pages carry it in a form field or a
 *    <meta> tag; scripts send it as `X-CSRF-Token`.
 *  - before there is a session (the /login form), a signed double-submit token: a random nonce in an
 *    HttpOnly `__Host-` cookie and its HMAC in the form.
 *  - `Origin`, when the browser sends it, must be this site's own (and `Sec-Fetch-Site` must not be
 *    cross-site); SameSite=Lax on the session cookie already keeps it off cross-site POSTs.
 */
import { base64url, hmacSha256, safeEqual } from "./crypto";

export const CSRF_HEADER = "X-CSRF-Token";

interface Secrets {
  JWT_SECRET: string;
  JWT_SECRET_PREVIOUS?: string;
}

async function sign(secret: string, message: string): Promise<string> {
  return base64url(await hmacSha256(secret, message));
}

/** Checks `presented` against the HMAC of `message` under the current secret, or the previous one. */
async function verify(env: Secrets, message: string, presented: string | undefined): Promise<boolean> {
  if (!presented) return false;
  for (const secret of [env.JWT_SECRET, env.JWT_SECRET_PREVIOUS]) {
    if (secret && safeEqual(await sign(secret, message), presented)) return true;
  }
  return false;
}

/** The CSRF token of a portal session. */
export function sessionCsrfToken(env: Secrets, sessionId: string): Promise<string> {
  return sign(env.JWT_SECRET, `csrf:session:${sessionId}`);
}

export function verifySessionCsrf(env: Secrets, sessionId: string, presented: string | undefined) {
  return verify(env, `csrf:session:${sessionId}`, presented);
}

/** The /login form's token for a nonce (the nonce travels in a cookie, the token in the form). */
export function loginCsrfToken(env: Secrets, nonce: string): Promise<string> {
  return sign(env.JWT_SECRET, `csrf:login:${nonce}`);
}

export function verifyLoginCsrf(env: Secrets, nonce: string | undefined, presented: string | undefined) {
  if (!nonce || !/^[0-9a-f]{32}$/.test(nonce)) return Promise.resolve(false);
  return verify(env, `csrf:login:${nonce}`, presented);
}

/**
 * False when the browser says the request comes from another site: an `Origin` that is not this request's
 * own (including "null"), or `Sec-Fetch-Site: cross-site`. Requests without either header (non-browser
 * clients, old browsers) pass here and rely on the CSRF token.
 */
export function sameOrigin(req: { url: string; header(name: string): string | undefined }): boolean {
  const origin = req.header("origin");
  if (origin !== undefined && origin !== new URL(req.url).origin) return false;
  return req.header("sec-fetch-site") !== "cross-site";
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The stricter rule of the register family's session cookie: the request is from a page of this very
 * origin. `Sec-Fetch-Site`, when sent, must be `same-origin` (not `same-site`: another port or subdomain of
 * the same site gets SameSite cookies too); an `Origin`, when sent, must be this request's own; and a
 * request of an unsafe method must send that `Origin` (browsers always do for non-GET fetches).
 */
export function sameOriginStrict(req: {
  url: string;
  method: string;
  header(name: string): string | undefined;
}): boolean {
  const site = req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin") return false;
  const origin = req.header("origin");
  if (origin === undefined) return SAFE_METHODS.has(req.method.toUpperCase());
  return origin === new URL(req.url).origin;
}
