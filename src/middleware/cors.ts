/**
 * CORS, per clinic. By default no origin is allowed: a browser page may read a response only when its
 * Origin is listed in the clinic's `settings.corsOrigins` (admin API). The clinic is the one the request
 * ended up serving (its token's, its API key's, else X-AccountCode or the default clinic).
 *
 * Preflights (OPTIONS with Access-Control-Request-Method) carry no header values, so the clinic is not
 * known yet: a preflight is answered for an origin that some enabled clinic lists, and the actual
 * response is then allowed only for that clinic's own origins. Requests carry their credentials in
 * headers (never cookies: no Allow-Credentials), so a preflight lets nothing through that a script could
 * not send from a server anyway. `X-ApiKey` is not an allowed header: the clinic's API key belongs on
 * its servers, never in a browser.
 *
 * The lists are read and cached per isolate by services/cors-origins.ts; requests without Origin (servers)
 * skip all of this.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { allowsOrigin, listedBySomeClinic, originsOf } from "../services/cors-origins";
import type { AppEnv } from "../types";
import { clinicCodeOf } from "./tenant";

const ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "if-match",
  "x-accountcode",
  "x-apitoken",
  // Names the patient of GET/PUT /state for a physician or insurer (register family).
  "x-patient-id",
  "x-request-id",
];
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
const EXPOSED_HEADERS = "ETag, Retry-After, X-Request-Id, Allow";
const MAX_AGE = "600";

/** The clinic whose origins decide: the one the request was served for. */
function servedClinic<E extends AppEnv>(c: Context<E>): { code: string; corsOrigins?: string[] } {
  const clinic = c.get("clinic");
  if (clinic) return { code: clinic.code, corsOrigins: clinic.settings.corsOrigins ?? [] };
  const code = c.get("caller")?.clinicCode ?? c.get("account")?.clinicCode ?? clinicCodeOf(c.req, c.env);
  return { code };
}

function preflight<E extends AppEnv>(c: Context<E>, origin: string, allowed: boolean): Response {
  const headers = new Headers({ Vary: "Origin" });
  if (allowed) {
    const requested = (c.req.header("access-control-request-headers") ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => ALLOWED_HEADERS.includes(h));
    headers.set("Access-Control-Allow-Origin", origin);
    headers.set("Access-Control-Allow-Methods", ALLOWED_METHODS);
    if (requested.length > 0) headers.set("Access-Control-Allow-Headers", requested.join(", "));
    headers.set("Access-Control-Max-Age", MAX_AGE);
  }
  return new Response(null, { status: 204, headers });
}

export const cors = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header("origin");
  if (!origin || origin === "null") return next();
  if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method")) {
    return preflight(c, origin, await listedBySomeClinic(c.env, origin));
  }
  await next();
  if (c.res.status === 101) return;
  c.res.headers.append("Vary", "Origin");
  const clinic = servedClinic(c);
  const origins = clinic.corsOrigins ?? (await originsOf(c.env, clinic.code));
  if (allowsOrigin(origins, origin)) {
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
  }
});
