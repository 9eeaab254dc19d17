import { createRoute } from "@hono/zod-openapi";
import { errorResponses, formBody, SECURITY, withBody, z } from "../../lib/openapi";
import { PASSWORD_MAX } from "../../lib/password";
import { NOT_WELL_FORMED, wellFormed } from "../../lib/schemas";
import { rateLimit } from "../../middleware/rate-limit";
import { portalApi, portalPage } from "./guard";
import { pageHeaders } from "./headers";

const tags = ["portal"];

export const html = (description: string) => ({
  description,
  content: { "text/html": { schema: z.string() } },
});
const redirect = (description: string) => ({ description, headers: z.object({ Location: z.string() }) });
export const pageError = html("Unexpected error (an HTML page)");

const toLogin = redirect("No live session: redirect to /login?next=<this page>");

export const home = createRoute({
  method: "get",
  path: "/",
  operationId: "portalHome",
  tags,
  security: SECURITY.portal,
  summary: "Portal home: sends a signed-in user to their page",
  description:
    "Providers go to /providers/dashboard, patients (members and guests) to /u/clinic, anyone without a live session to /login.",
  middleware: [pageHeaders] as const,
  responses: {
    302: redirect("The user's page, or /login"),
    403: html("A signed-in user whose kind has no portal page"),
    500: pageError,
  },
});

const next = z
  .string()
  .max(2048)
  .optional()
  .openapi({ description: "Where to go after signing in (a path of this site)" });

export const loginPage = createRoute({
  method: "get",
  path: "/login",
  operationId: "portalLoginPage",
  security: SECURITY.public,
  tags,
  summary: "Sign-in form (username or email, and password)",
  description:
    "For users who do not come through SSO (GET /auth). Sets a short-lived `__Host-ce_login` cookie (the form's CSRF nonce). `clinic` prefills the clinic code (default: the deployment's default clinic).",
  middleware: [pageHeaders] as const,
  request: { query: z.object({ next, clinic: z.string().max(64).optional() }) },
  responses: { 200: html("The form"), 400: html("Invalid query"), 500: pageError },
});

export const LoginForm = z
  .object({
    clinic: z.string().trim().max(64).optional(),
    username: z.string().trim().max(256).optional(),
    password: z.string().max(PASSWORD_MAX).refine(wellFormed, NOT_WELL_FORMED).optional(),
    next,
    csrf: z.string().max(128).optional(),
  })
  .openapi("PortalLoginForm");

export const loginSubmit = createRoute({
  method: "post",
  path: "/login",
  operationId: "portalLogin",
  security: SECURITY.public,
  tags,
  summary: "Sign in with the form: sets the session cookie and redirects (303) to `next`",
  description:
    "The same rules as POST /api_v3/users/login (the same per-client rate limit and per-identity lockout; unknown users, wrong passwords and disabled users get the same answer). Needs the form's CSRF token with its `__Host-ce_login` cookie, and refuses a cross-site `Origin`. On success: a `portal` session in the HttpOnly, Secure, SameSite=Lax `ce_session` cookie and a redirect to `next` when it is a path of this site (else /). A user with two-factor on gets no session here: the answer is the code page (200), whose form goes to POST /login/code.",
  middleware: [pageHeaders, rateLimit("CREDENTIALS_LIMITER", "vsee-login"), withBody] as const,
  request: { body: formBody(LoginForm) },
  responses: {
    200: html("Two-factor on: the page asking for the 6-digit code (no session yet)"),
    303: redirect("Signed in"),
    400: html("Username or password missing (the form again)"),
    401: html("Invalid username or password (the form again)"),
    403: html("Missing or invalid CSRF token, or a cross-site request (the form again)"),
    413: html("Body too large"),
    415: html("Unsupported media type"),
    429: html("Too many attempts from this client, or the identity is locked (Retry-After)"),
    500: pageError,
  },
});

export const LoginCodeForm = z
  .object({
    clinic: z.string().trim().max(64).optional(),
    state: z.string().max(1024).optional(),
    code: z.string().max(32).optional(),
    next,
    csrf: z.string().max(128).optional(),
  })
  .openapi("PortalLoginCodeForm");

export const loginCodeSubmit = createRoute({
  method: "post",
  path: "/login/code",
  operationId: "portalLoginCode",
  security: SECURITY.public,
  tags,
  summary:
    "Second sign-in step (two-factor on): the 6-digit code; sets the session cookie and redirects (303)",
  description:
    "The form of the code page POST /login answers for a user with two-factor on. `state` binds it to that password step: it expires after 5 minutes, works only with the same browser's `__Host-ce_login` cookie, and dies once a code has signed the user in (or their password or TOTP secret changed). Needs the form's CSRF token and refuses a cross-site `Origin`, like POST /login. Wrong codes count under the account's TOTP lock, shared with every other door (429 with Retry-After while it lasts, even for the right code).",
  middleware: [pageHeaders, rateLimit("CREDENTIALS_LIMITER", "vsee-login"), withBody] as const,
  request: { body: formBody(LoginCodeForm) },
  responses: {
    303: redirect("Signed in"),
    400: html("No 6-digit code (the code page again)"),
    401: html("A wrong code (the code page again), or an expired, used or altered state (the sign-in form)"),
    403: html("Missing or invalid CSRF token, or a cross-site request (the sign-in form)"),
    413: html("Body too large"),
    415: html("Unsupported media type"),
    429: html("Too many attempts from this client, or the account's second factor is locked (Retry-After)"),
    500: pageError,
  },
});

export const logoutPage = createRoute({
  method: "get",
  path: "/logout",
  operationId: "portalLogoutPage",
  tags,
  security: SECURITY.portal,
  summary: "Sign-out page: a confirmation button while signed in, else 'signed out'",
  description:
    "`clinic` (set by the sign-out redirect) names the clinic the 'signed out' page shows and signs in again to.",
  middleware: [pageHeaders] as const,
  request: { query: z.object({ clinic: z.string().max(64).optional() }) },
  responses: { 200: html("The page"), 400: html("Invalid query"), 500: pageError },
});

export const logoutSubmit = createRoute({
  method: "post",
  path: "/logout",
  operationId: "portalLogout",
  tags,
  security: SECURITY.portal,
  summary: "Sign out: ends the session, clears the cookie, redirects (303) to /logout",
  description:
    "Needs the page's CSRF token (`csrf` field) and refuses a cross-site `Origin`. Revokes the session (its token stops working everywhere) and, for patients, ends their heartbeat (they leave the waiting rooms).",
  middleware: [pageHeaders, withBody] as const,
  request: { body: formBody(z.object({ csrf: z.string().max(128).optional() }).openapi("PortalLogoutForm")) },
  responses: {
    303: redirect("Signed out (or there was no session)"),
    403: html("Missing or invalid CSRF token, or a cross-site request"),
    413: html("Body too large"),
    415: html("Unsupported media type"),
    500: pageError,
  },
});

export const dashboard = createRoute({
  method: "get",
  path: "/providers/dashboard",
  operationId: "portalDashboard",
  tags,
  security: SECURITY.portal,
  summary: "Provider dashboard: the provider's rooms and the patients alive in them",
  description:
    "Per room, the members and guests whose heartbeat (POST /api_v3/users/alive) has not lapsed, with how long ago they were last seen. The page updates itself by polling GET /providers/dashboard/rooms every 5 seconds.",
  middleware: [pageHeaders, portalPage("provider")] as const,
  responses: { 200: html("The dashboard"), 302: toLogin, 403: html("Not a provider"), 500: pageError },
});

const WaitingPatient = z
  .object({
    id: z.string(),
    name: z.string(),
    last_connected: z.number().int().openapi({ description: "The last heartbeat (unix s)" }),
    seen_seconds_ago: z.number().int(),
  })
  .openapi("PortalWaitingPatient");

export const DashboardRooms = z
  .object({
    now: z.number().int(),
    rooms: z.array(
      z
        .object({ code: z.string(), name: z.string(), patients: z.array(WaitingPatient) })
        .openapi("PortalRoom"),
    ),
  })
  .openapi("PortalDashboard");

export const dashboardRooms = createRoute({
  method: "get",
  path: "/providers/dashboard/rooms",
  operationId: "portalDashboardRooms",
  tags,
  security: SECURITY.portal,
  summary: "The dashboard's data: the provider's rooms and their alive patients (JSON)",
  middleware: [pageHeaders, portalApi("provider")] as const,
  responses: {
    200: {
      description: "Rooms in assignment order, patients by name",
      content: { "application/json": { schema: DashboardRooms } },
    },
    ...errorResponses("admin", 401, 403),
  },
});

export const clinicPage = createRoute({
  method: "get",
  path: "/u/clinic",
  operationId: "portalClinicPage",
  tags,
  security: SECURITY.portal,
  summary: "Patient waiting page: the room, a 'checked in' state, and the heartbeat kept alive",
  description:
    "For members and guests. Its script sends POST /api_v3/users/alive (session cookie + X-CSRF-Token) at once and then every 0.4 × the heartbeat, so that the patient shows on their providers' dashboards while the page is open.",
  middleware: [pageHeaders, portalPage("patient")] as const,
  responses: { 200: html("The waiting page"), 302: toLogin, 403: html("Not a patient"), 500: pageError },
});

export const patientRecordPage = createRoute({
  method: "get",
  path: "/providers/patients/{patientId}",
  operationId: "portalPatientRecordPage",
  tags,
  security: SECURITY.portal,
  summary: "A patient's care record page (providers on the patient's care team)",
  description:
    "The fields the provider's group reads, editors for the ones it writes (with the record's version: a stale edit shows the newer text and asks to merge), live updates (GET /portal/records/{patientId}/live) and the record's history. Opening it is a read in the record's access log.",
  middleware: [pageHeaders, portalPage("provider")] as const,
  request: { params: z.object({ patientId: z.string().max(32) }) },
  responses: {
    200: html("The record page"),
    302: toLogin,
    403: html("Not a provider, or not on this patient's care team"),
    404: html("No such patient"),
    500: pageError,
  },
});

export const clinicStylesheet = createRoute({
  method: "get",
  path: "/portal/assets/clinic/{file}",
  operationId: "portalClinicStylesheet",
  security: SECURITY.public,
  tags,
  summary: "A clinic's branding stylesheet (`<code>.css`: its accent colour as CSS variables)",
  middleware: [pageHeaders] as const,
  request: { params: z.object({ file: z.string().max(80) }) },
  responses: {
    200: { description: "The stylesheet", content: { "text/css": { schema: z.string() } } },
    ...errorResponses("admin", 404),
  },
});

export const asset = createRoute({
  method: "get",
  path: "/portal/assets/{file}",
  operationId: "portalAsset",
  security: SECURITY.public,
  tags,
  summary: "The pages' stylesheet, scripts and icon (portal.css, dashboard.js, clinic.js, icon.svg)",
  middleware: [pageHeaders] as const,
  request: { params: z.object({ file: z.string().max(64) }) },
  responses: {
    200: {
      description: "The file",
      content: {
        "text/css": { schema: z.string() },
        "text/javascript": { schema: z.string() },
        "image/svg+xml": { schema: z.string() },
      },
    },
    ...errorResponses("admin", 404),
  },
});
