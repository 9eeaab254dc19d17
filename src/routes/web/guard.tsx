/**
 * Who may see which portal page. Pages answer a request without a live session with a redirect to
 * `/login?next=<this page>` (validated by safeNext, as /auth does), and a user of the wrong kind with a
 * 403 page; the pages' JSON endpoints answer 401/403 in JSON instead. Errors on page paths (and on unknown
 * paths a browser asks HTML of) are pages too, in the clinic's colours when the clinic is known.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Child } from "hono/jsx";
import { sessionCsrfToken } from "../../lib/csrf";
import { ApiError } from "../../lib/errors";
import { familyOf, type PageErrors } from "../../lib/families";
import { safeNext } from "../../lib/redirect";
import { clearSessionCookie, cookieCaller, hasSessionCookie } from "../../middleware/portal-session";
import { type PortalClinic, portalClinicByHost, portalClinicById } from "../../services/portal";
import { USER_TYPES } from "../../services/users";
import type { AppEnv, AppEnvWith, Caller } from "../../types";
import { applyPageHeaders, contentSecurityPolicy } from "./headers";
import { MessageView, type Session } from "./views";

export type Audience = "provider" | "patient";

const AUDIENCES: Record<Audience, { types: number[]; home: string; who: string }> = {
  provider: { types: [USER_TYPES.provider], home: "/providers/dashboard", who: "providers" },
  patient: { types: [USER_TYPES.member, USER_TYPES.guest], home: "/u/clinic", who: "patients" },
};

/** The portal page of a user type, if it has one. */
export function homeOf(type: number): string | undefined {
  return Object.values(AUDIENCES).find((a) => a.types.includes(type))?.home;
}

type PageStatus = 200 | 400 | 401 | 403 | 404 | 429;

/**
 * Renders a page (a JSX tree) as an HTML document. A clinic with a logo gets its logo's origin added to
 * the page's `img-src` (and nothing else).
 */
export function page<E extends AppEnv>(
  c: Context<E>,
  node: Child,
  status: PageStatus = 200,
  clinic?: PortalClinic,
) {
  c.header("Content-Security-Policy", contentSecurityPolicy(clinic?.logoUrl));
  return c.html(`<!doctype html>${node}`, status);
}

export async function sessionOf<E extends AppEnv>(
  c: Context<E>,
  caller: Caller,
  name?: string,
): Promise<Session> {
  return { csrf: await sessionCsrfToken(c.env, caller.sessionId), name };
}

/** The clinic of a signed-in caller's pages. */
export function clinicOf<E extends AppEnv>(c: Context<E>, caller: Caller): Promise<PortalClinic | undefined> {
  return portalClinicById(c.env, caller.clinicId);
}

/** Redirects to the login form, coming back to this page afterwards. */
export function toLogin<E extends AppEnv>(c: Context<E>) {
  if (hasSessionCookie(c)) clearSessionCookie(c); // expired or revoked: do not keep sending it
  const url = new URL(c.req.url);
  const next = safeNext(`${url.pathname}${url.search}`, url.origin);
  return c.redirect(next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`, 302);
}

export async function forbiddenPage<E extends AppEnv>(c: Context<E>, caller: Caller, message: string) {
  const home = homeOf(caller.type);
  const clinic = await clinicOf(c, caller);
  return page(
    c,
    <MessageView
      title="Not available"
      message={message}
      detail="If you think you should see this page, ask your clinic."
      clinic={clinic}
      session={await sessionOf(c, caller)}
      links={home ? [{ href: home, text: "Go to your page" }] : []}
    />,
    403,
    clinic,
  );
}

/** Page routes: the session cookie's caller, of this audience (set as `caller`). */
export const portalPage = (audience: Audience) =>
  createMiddleware<AppEnvWith<{ caller: Caller }>>(async (c, next) => {
    const caller = await cookieCaller(c);
    if (!caller) return toLogin(c);
    if (!AUDIENCES[audience].types.includes(caller.type)) {
      return forbiddenPage(c, caller, `This page is for ${AUDIENCES[audience].who}.`);
    }
    c.set("caller", caller);
    await next();
  });

/** JSON endpoints of the pages: 401 without a live session, 403 for the wrong audience. */
export const portalApi = (audience: Audience) =>
  createMiddleware<AppEnvWith<{ caller: Caller }>>(async (c, next) => {
    const caller = await cookieCaller(c);
    if (!caller) throw new ApiError("portal_session_required");
    if (!AUDIENCES[audience].types.includes(caller.type)) {
      throw new ApiError("wrong_audience", { params: { who: AUDIENCES[audience].who } });
    }
    c.set("caller", caller);
    await next();
  });

/** Pages with a parameter (a patient's care record). */
const PAGE_PATTERNS = [/^\/providers\/patients\/[^/]+$/];

/** The page paths: these exact ones, and the patterns' (a Set, as `PageErrors.paths` is one). */
class PagePaths extends Set<string> {
  override has(path: string): boolean {
    return super.has(path) || PAGE_PATTERNS.some((p) => p.test(path));
  }
}

/** Paths answered with HTML pages: their errors are HTML pages too (`pageErrors`). */
const PAGE_PATHS = new PagePaths([
  "/",
  "/auth",
  "/login",
  "/login/code",
  "/logout",
  "/providers/dashboard",
  "/u/clinic",
]);

/** Paths outside the API families that still answer JSON or files (never an HTML error). */
const NOT_PAGES = [
  "/portal/",
  "/providers/dashboard/rooms",
  "/openapi.json",
  "/health",
  "/docs",
  "/__test/",
  "/favicon.ico",
];

/**
 * True when an error of this request is answered as a page: a page path, or a path of no API family
 * that a browser navigates to (Accept names text/html), e.g. a mistyped `/dashboard/x`. API paths keep
 * their family's JSON.
 */
export function wantsPage<E extends AppEnv>(c: Context<E>): boolean {
  const path = c.req.path;
  if (PAGE_PATHS.has(path)) return true;
  if (familyOf(path) !== "admin" || path === "/admin" || path.startsWith("/admin/")) return false;
  if (
    NOT_PAGES.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p || path.startsWith(`${p}/`)))
  ) {
    return false;
  }
  return (c.req.header("accept") ?? "").includes("text/html");
}

const ERROR_TITLES: Record<number, string> = {
  400: "Not possible",
  401: "Please sign in",
  403: "Not available",
  404: "Page not found",
  405: "Page not found",
  429: "Slow down",
};

/** The clinic of an error page: the session's, else the host's; none when storage fails too. */
async function errorClinic<E extends AppEnv>(c: Context<E>): Promise<PortalClinic | undefined> {
  try {
    const caller = await cookieCaller(c);
    if (caller) return await portalClinicById(c.env, caller.clinicId);
    return await portalClinicByHost(c.env, new URL(c.req.url).hostname);
  } catch {
    return undefined;
  }
}

/** An error on a page path, as a page (no internals: the ApiError's public message only). */
export async function errorPage<E extends AppEnv>(c: Context<E>, err: ApiError): Promise<Response> {
  const clinic = await errorClinic(c);
  const status = err.status;
  const title = status >= 500 ? "Something went wrong" : (ERROR_TITLES[status] ?? "Not possible");
  const notFound = status === 404 || status === 405;
  const message = notFound ? "There is no page at this address." : err.message;
  const detail =
    status >= 500
      ? `Nothing you did caused this. Try again in a moment; if it keeps happening, tell your clinic (reference ${c.get("requestId") ?? "unknown"}).`
      : notFound
        ? "Check the address, or start again from your page."
        : undefined;
  const res = c.html(
    `<!doctype html>${<MessageView title={title} message={message} detail={detail} clinic={clinic} links={[{ href: "/", text: "Go to your page" }]} />}`,
    status as 400,
    err.headers,
  );
  res.headers.set("Content-Security-Policy", contentSecurityPolicy(clinic?.logoUrl));
  applyPageHeaders(res.headers);
  return res;
}

/**
 * How the portal's page paths answer errors (familyApp, and app.ts for failures before routing): the page
 * paths, and any path of no API family that a browser asks HTML of (`wantsPage`).
 */
export const pageErrors: PageErrors = { paths: PAGE_PATHS, wants: wantsPage, render: errorPage };
