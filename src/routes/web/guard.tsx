/**
 * Who may see which portal page. Pages answer a request without a live session with a redirect to
 * `/login?next=<this page>` (validated by safeNext, as /auth does), and a user of the wrong kind with a
 * 403 page; the pages' JSON endpoints answer 401/403 in JSON instead.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Child } from "hono/jsx";
import { sessionCsrfToken } from "../../lib/csrf";
import { ApiError } from "../../lib/errors";
import type { PageErrors } from "../../lib/families";
import { safeNext } from "../../lib/redirect";
import { clearSessionCookie, cookieCaller, hasSessionCookie } from "../../middleware/portal-session";
import { USER_TYPES } from "../../services/users";
import type { AppEnv, Caller } from "../../types";
import { applyPageHeaders } from "./headers";
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

/** Renders a page (a JSX tree) as an HTML document. */
export function page(c: Context<AppEnv>, node: Child, status: 200 | 400 | 401 | 403 | 429 = 200) {
  return c.html(`<!doctype html>${node}`, status);
}

export async function sessionOf(c: Context<AppEnv>, caller: Caller, name?: string): Promise<Session> {
  return { csrf: await sessionCsrfToken(c.env, caller.sessionId), name };
}

/** Redirects to the login form, coming back to this page afterwards. */
export function toLogin(c: Context<AppEnv>) {
  if (hasSessionCookie(c)) clearSessionCookie(c); // expired or revoked: do not keep sending it
  const url = new URL(c.req.url);
  const next = safeNext(`${url.pathname}${url.search}`, url.origin);
  return c.redirect(next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`, 302);
}

export async function forbiddenPage(c: Context<AppEnv>, caller: Caller, message: string) {
  const home = homeOf(caller.type);
  return page(
    c,
    <MessageView
      title="Not available"
      message={message}
      session={await sessionOf(c, caller)}
      links={home ? [{ href: home, text: "Go to your page" }] : []}
    />,
    403,
  );
}

/** Page routes: the session cookie's caller, of this audience (set as `caller`). */
export const portalPage = (audience: Audience) =>
  createMiddleware<AppEnv>(async (c, next) => {
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
  createMiddleware<AppEnv>(async (c, next) => {
    const caller = await cookieCaller(c);
    if (!caller) throw new ApiError("unauthorized", { message: "Sign in first: no live portal session" });
    if (!AUDIENCES[audience].types.includes(caller.type)) {
      throw new ApiError("forbidden", { message: `Only ${AUDIENCES[audience].who} may read this` });
    }
    c.set("caller", caller);
    await next();
  });

/** Paths answered with HTML pages: their errors are HTML pages too (`pageErrors`). */
const PAGE_PATHS = new Set([
  "/",
  "/auth",
  "/login",
  "/login/code",
  "/logout",
  "/providers/dashboard",
  "/u/clinic",
]);

/** An error on a page path, as a page (no internals: the ApiError's public message only). */
export function errorPage(c: Context<AppEnv>, err: ApiError) {
  const title =
    err.status >= 500 ? "Something went wrong" : err.status === 429 ? "Slow down" : "Not possible";
  const res = c.html(
    `<!doctype html>${<MessageView title={title} message={err.message} links={[{ href: "/", text: "Back to the portal" }]} />}`,
    err.status as 400,
    err.headers,
  );
  applyPageHeaders(res.headers);
  return res;
}

/** How the portal's page paths answer errors (familyApp, and app.ts for failures before routing). */
export const pageErrors: PageErrors = { paths: PAGE_PATHS, render: errorPage };
