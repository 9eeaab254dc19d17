/**
 * The portal session on the care-record routes of the pages (records.routes.ts): the `ce_session`
 * cookie's caller, from a page of this origin (`sameOriginStrict`; a WebSocket handshake must send its
 * Origin), with the session's CSRF token: `X-CSRF-Token`, or, on the WebSocket (which cannot set headers),
 * a `csrf.<token>` subprotocol.
 */
import { createMiddleware } from "hono/factory";
import { CSRF_HEADER, sameOriginStrict, verifySessionCsrf } from "../../lib/csrf";
import { ApiError } from "../../lib/errors";
import { offeredProtocols } from "../../middleware/care-auth";
import { cookieCaller } from "../../middleware/portal-session";
import type { AppEnvWith, Caller } from "../../types";

const CSRF_PROTOCOL_PREFIX = "csrf.";

export const portalRecordApi = (options: { live?: boolean } = {}) =>
  createMiddleware<AppEnvWith<{ caller: Caller }>>(async (c, next) => {
    const caller = await cookieCaller(c);
    if (!caller) throw new ApiError("portal_session_required");
    if (!sameOriginStrict(c.req) || (options.live && !c.req.header("origin"))) {
      throw new ApiError("cross_site_session");
    }
    const csrf = options.live
      ? offeredProtocols(c.req.header("sec-websocket-protocol"))
          .find((p) => p.startsWith(CSRF_PROTOCOL_PREFIX))
          ?.slice(CSRF_PROTOCOL_PREFIX.length)
      : c.req.header(CSRF_HEADER);
    if (!(await verifySessionCsrf(c.env, caller.sessionId, csrf))) {
      throw new ApiError("portal_csrf_required", { params: { header: CSRF_HEADER } });
    }
    c.set("caller", caller);
    await next();
  });
