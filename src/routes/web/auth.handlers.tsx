import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { safeNext } from "../../lib/redirect";
import { audit, auditLater } from "../../middleware/audit";
import { setSessionCookie } from "../../middleware/portal-session";
import { getClinicById } from "../../services/clinics";
import { portalClinicByCode, portalClinicByHost } from "../../services/portal";
import { liveSessionOf, resolveAccess, revokeSessions, startSession } from "../../services/sessions";
import { getUser } from "../../services/users";
import type { AppEnv } from "../../types";
import type { webAuth } from "./auth.routes";
import { page } from "./guard";
import { MessageView } from "./views";

/** The page of a link that does not sign in (the same for every reason: it tells nobody why). */
async function invalidLinkPage<E extends AppEnv>(
  c: Context<E>,
  clinicCode: string | undefined,
  next: string | undefined,
) {
  // The token's clinic while its record lasts, else the clinic of this host (a clinic's own domain).
  const clinic = clinicCode
    ? await portalClinicByCode(c.env, clinicCode)
    : await portalClinicByHost(c.env, new URL(c.req.url).hostname);
  const query = new URLSearchParams();
  if (clinic) query.set("clinic", clinic.code);
  const target = safeNext(next, new URL(c.req.url).origin);
  if (target !== "/") query.set("next", target);
  const login = query.size > 0 ? `/login?${query}` : "/login";
  return page(
    c,
    <MessageView
      title="This sign-in link is not valid"
      message="It may have expired (sign-in links work for a short time), been used already, or been copied only in part."
      detail={`Go back to ${clinic ? `${clinic.name}'s` : "your clinic's"} portal and open the link again: it gives you a fresh one. Or sign in here with your username and password.`}
      clinic={clinic}
      links={[{ href: login, text: "Sign in with your password" }]}
    />,
    401,
    clinic,
  );
}

export const webAuthHandler: RouteHandler<typeof webAuth, AppEnv> = async (c) => {
  // The token travels in the URL: never leak it onward, never cache the answer.
  c.header("Referrer-Policy", "no-referrer");
  c.header("Cache-Control", "no-store");
  const q = c.req.valid("query");
  const token = q.sso_token ?? "";
  const record = await resolveAccess(c.env, token);
  const invalid = (reason: string) => {
    auditLater(c, {
      event: "sso",
      outcome: "failure",
      clinic: record?.clinicId ?? null,
      subjectUserId: record?.userId ?? null,
      details: { reason },
    });
    return invalidLinkPage(c, record?.clinicCode, q.next);
  };
  if (!record) return invalid("invalid_token");

  // The session behind the token must still be live in D1 (consistent, unlike KV); with
  // one_time_token=1 it is burnt by the same single statement, so a token signs in at most once.
  const burn = q.one_time_token === "1";
  const live = await liveSessionOf(c.env, record, { burn });
  if (!live) return invalid("session_ended");
  if (burn) await revokeSessions(c.env, { sessionId: live }); // deletes the KV copy (already revoked in D1)

  const [user, clinic] = await Promise.all([
    getUser(c.env, record.clinicId, record.userId),
    getClinicById(c.env, record.clinicId),
  ]);
  if (!user || user.disabled || !clinic || clinic.disabled) return invalid("user_disabled");
  const portal = await startSession(c.env, user, clinic, "portal", [
    audit(c, {
      event: "sso",
      outcome: "success",
      clinic: clinic.id,
      actorUserId: user.id,
      subjectUserId: user.id,
      details: { via: "sso_token", one_time: burn },
    }),
  ]);
  setSessionCookie(c, portal.access);
  return c.redirect(safeNext(q.next, new URL(c.req.url).origin), 302);
};
