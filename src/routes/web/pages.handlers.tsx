import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { clearAlive } from "../../kv/alive";
import { now } from "../../lib/clock";
import { randomToken } from "../../lib/crypto";
import { loginCsrfToken, sameOrigin, verifyLoginCsrf, verifySessionCsrf } from "../../lib/csrf";
import { ApiError } from "../../lib/errors";
import { safeNext } from "../../lib/redirect";
import type { AppRouteHandler } from "../../lib/route-handler";
import { auditSink } from "../../middleware/audit";
import {
  clearSessionCookie,
  cookieCaller,
  hasSessionCookie,
  setSessionCookie,
} from "../../middleware/portal-session";
import { type PortalClinic, portalClinicByCode, portalClinicByHost } from "../../services/portal";
import { secondStepState } from "../../services/second-factor";
import { revokeSessions } from "../../services/sessions";
import { type SignedIn, signIn, signInSecondStep } from "../../services/sign-in";
import { getUser, roomsOfUser } from "../../services/users";
import { PATIENT_TYPES, waitingRooms } from "../../services/waiting";
import type { AppEnv } from "../../types";
import { ASSETS, clinicCss } from "./assets";
import { clinicOf, forbiddenPage, homeOf, page, sessionOf, toLogin } from "./guard";
import type {
  asset as assetRoute,
  clinicPage as clinicPageRoute,
  clinicStylesheet as clinicStylesheetRoute,
  dashboardRooms as dashboardRoomsRoute,
  dashboard as dashboardRoute,
  home as homeRoute,
  loginCodeSubmit as loginCodeSubmitRoute,
  loginPage as loginPageRoute,
  loginSubmit as loginSubmitRoute,
  logoutPage as logoutPageRoute,
  logoutSubmit as logoutSubmitRoute,
  patientRecordPage as patientRecordPageRoute,
} from "./pages.routes";
import { openRecordPage } from "./record-page";
import {
  ClinicView,
  DashboardView,
  LoginCodeView,
  LoginView,
  MessageView,
  RecordView,
  SignOutView,
} from "./views";

/** The login form's CSRF nonce: `__Host-ce_login` (HttpOnly, Secure, SameSite=Strict, this host only). */
const LOGIN_COOKIE = "ce_login";
const LOGIN_COOKIE_TTL = 3600;

const displayName = (u: { firstName: string; lastName: string }) => `${u.firstName} ${u.lastName}`.trim();

/** `next` as the form keeps it: a path of this site, or nothing. */
function keptNext<E extends AppEnv>(c: Context<E>, next: string | undefined): string | undefined {
  const target = safeNext(next, new URL(c.req.url).origin);
  return target === "/" ? undefined : target;
}

interface LoginValues {
  /** The clinic code the form posts (typed, or hidden when the clinic is known). */
  clinic: string;
  username?: string;
  next?: string;
}

/**
 * The clinic of the sign-in form: the one the link (`?clinic=`) or the form names, else the one whose
 * `domain` is this host. Known, the form asks for no clinic code.
 */
async function formClinic<E extends AppEnv>(
  c: Context<E>,
  code: string | undefined,
): Promise<PortalClinic | undefined> {
  if (code) return portalClinicByCode(c.env, code);
  return portalClinicByHost(c.env, new URL(c.req.url).hostname);
}

/** The values of a form whose clinic field may be absent (known clinic: the host's, else the default). */
async function formValues(
  c: Context<AppEnv>,
  f: { clinic?: string; username?: string; next?: string },
): Promise<{ values: LoginValues; clinic?: PortalClinic }> {
  const clinic = await formClinic(c, f.clinic || undefined);
  const code = f.clinic || clinic?.code || c.env.DEFAULT_ACCOUNT_CODE;
  return { values: { clinic: code, username: f.username, next: keptNext(c, f.next) }, clinic };
}

/** The browser's login nonce (kept while valid, so that two tabs both work), set again in its cookie. */
function loginNonce<E extends AppEnv>(c: Context<E>): string {
  let nonce = getCookie(c, LOGIN_COOKIE, "host");
  if (!nonce || !/^[0-9a-f]{32}$/.test(nonce)) nonce = randomToken(16);
  setCookie(c, LOGIN_COOKIE, nonce, {
    prefix: "host",
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: LOGIN_COOKIE_TTL,
  });
  return nonce;
}

type FormStatus = 200 | 400 | 401 | 403 | 429;

/** The sign-in form, with its CSRF nonce cookie. */
async function loginForm(
  c: Context<AppEnv>,
  values: LoginValues,
  clinic: PortalClinic | undefined,
  error?: string,
  status: FormStatus = 200,
) {
  const csrf = await loginCsrfToken(c.env, loginNonce(c));
  return page(
    c,
    <LoginView
      clinic={clinic}
      clinicCode={values.clinic}
      username={values.username}
      next={values.next}
      csrf={csrf}
      error={error}
    />,
    status,
    clinic,
  );
}

/** The code page of the second step (two-factor on), with the state of the password step. */
async function codeForm(
  c: Context<AppEnv>,
  values: LoginValues,
  clinic: PortalClinic | undefined,
  state: string,
  error?: string,
  status: FormStatus = 200,
) {
  const csrf = await loginCsrfToken(c.env, loginNonce(c));
  return page(
    c,
    <LoginCodeView
      clinic={clinic}
      clinicCode={values.clinic}
      next={values.next}
      state={state}
      csrf={csrf}
      error={error}
    />,
    status,
    clinic,
  );
}

/** Signed in: the session cookie, the nonce spent, and on to `next` (or the user's own page). */
function signedInRedirect<E extends AppEnv>(c: Context<E>, signedIn: SignedIn, next: string | undefined) {
  setSessionCookie(c, signedIn.tokens.access);
  deleteCookie(c, LOGIN_COOKIE, { prefix: "host", secure: true, path: "/" });
  return c.redirect(next ?? homeOf(signedIn.user.type) ?? "/", 303);
}

const FORM_EXPIRED = "This form has expired or did not come from this site: please try again.";

export const home: AppRouteHandler<typeof homeRoute> = async (c) => {
  const caller = await cookieCaller(c);
  if (!caller) return toLogin(c);
  const target = homeOf(caller.type);
  if (target) return c.redirect(target, 302);
  return forbiddenPage(c, caller, "There is no portal page for your kind of account.");
};

export const loginPage: AppRouteHandler<typeof loginPageRoute> = async (c) => {
  const q = c.req.valid("query");
  const { values, clinic } = await formValues(c, { clinic: q.clinic?.trim(), next: q.next });
  return loginForm(c, values, clinic);
};

export const loginSubmit: AppRouteHandler<typeof loginSubmitRoute> = async (c) => {
  const f = c.req.valid("json");
  const { values, clinic } = await formValues(c, f);
  const nonce = getCookie(c, LOGIN_COOKIE, "host");
  if (!sameOrigin(c.req) || !(await verifyLoginCsrf(c.env, nonce, f.csrf))) {
    return loginForm(c, values, clinic, FORM_EXPIRED, 403);
  }
  if (!f.username || !f.password) {
    return loginForm(c, values, clinic, "Enter your username and your password.", 400);
  }
  let signedIn: Awaited<ReturnType<typeof signIn>>;
  try {
    signedIn = await signIn(
      c.env,
      values.clinic,
      { username: f.username, password: f.password },
      "portal",
      auditSink(c),
    );
  } catch (err) {
    // Wrong credentials and lockouts show the form again, with the same wording as the API.
    if (!(err instanceof ApiError) || (err.status !== 401 && err.status !== 429)) throw err;
    for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
    return loginForm(c, values, clinic, err.message, err.status);
  }
  if ("secondFactor" in signedIn) {
    // Two-factor on: no session yet; the code page, bound to this password step and this browser.
    const state = await secondStepState(c.env, signedIn.secondFactor.user, nonce as string);
    return codeForm(c, values, clinic, state);
  }
  return signedInRedirect(c, signedIn, values.next);
};

export const loginCodeSubmit: AppRouteHandler<typeof loginCodeSubmitRoute> = async (c) => {
  const f = c.req.valid("json");
  const { values, clinic } = await formValues(c, { clinic: f.clinic, next: f.next });
  const nonce = getCookie(c, LOGIN_COOKIE, "host");
  if (!sameOrigin(c.req) || !(await verifyLoginCsrf(c.env, nonce, f.csrf))) {
    return loginForm(c, values, clinic, FORM_EXPIRED, 403);
  }
  const expired = "This sign-in has expired or was already used: enter your password again.";
  if (!f.state) return loginForm(c, values, clinic, expired, 401);
  const code = (f.code ?? "").replace(/\s+/g, "");
  if (!/^\d{6}$/.test(code)) {
    return codeForm(c, values, clinic, f.state, "Enter the 6-digit code from your authenticator app.", 400);
  }
  let signedIn: SignedIn;
  try {
    signedIn = await signInSecondStep(c.env, f.state, nonce, code, auditSink(c));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
    if (err.code === "sign_in_expired" || err.code === "invalid_token") {
      return loginForm(c, values, clinic, expired, 401);
    }
    if (err.status === 429) return codeForm(c, values, clinic, f.state, err.message, 429);
    if (err.code === "mfa_required") {
      const wrong = "That code is not right: enter the code your app shows now.";
      return codeForm(c, values, clinic, f.state, wrong, 401);
    }
    throw err;
  }
  return signedInRedirect(c, signedIn, values.next);
};

export const logoutPage: AppRouteHandler<typeof logoutPageRoute> = async (c) => {
  const caller = await cookieCaller(c);
  if (caller) {
    const clinic = await clinicOf(c, caller);
    return page(c, <SignOutView session={await sessionOf(c, caller)} clinic={clinic} />, 200, clinic);
  }
  if (hasSessionCookie(c)) clearSessionCookie(c);
  const clinic = await formClinic(c, c.req.valid("query").clinic?.trim() || undefined);
  const again = clinic ? `/login?clinic=${encodeURIComponent(clinic.code)}` : "/login";
  return page(
    c,
    <MessageView
      title="You are signed out"
      message="Your session on this device has ended."
      clinic={clinic}
      links={[{ href: again, text: "Sign in again" }]}
    />,
    200,
    clinic,
  );
};

export const logoutSubmit: AppRouteHandler<typeof logoutSubmitRoute> = async (c) => {
  const caller = await cookieCaller(c);
  if (caller) {
    const { csrf } = c.req.valid("json");
    if (!sameOrigin(c.req) || !(await verifySessionCsrf(c.env, caller.sessionId, csrf))) {
      const clinic = await clinicOf(c, caller);
      return page(
        c,
        <MessageView
          title="Not signed out"
          message="This sign-out request did not come from this site's page: use the Sign out button."
          clinic={clinic}
          session={await sessionOf(c, caller)}
        />,
        403,
        clinic,
      );
    }
    await revokeSessions(c.env, { sessionId: caller.sessionId });
    // A patient who signs out leaves the waiting rooms at once (not when the heartbeat lapses).
    if ((PATIENT_TYPES as readonly number[]).includes(caller.type)) {
      await clearAlive(c.env.KV, caller.clinicId, caller.userId);
    }
  }
  if (hasSessionCookie(c)) clearSessionCookie(c);
  return c.redirect(caller ? `/logout?clinic=${encodeURIComponent(caller.clinicCode)}` : "/logout", 303);
};

export const dashboard: AppRouteHandler<typeof dashboardRoute> = async (c) => {
  const caller = c.get("caller");
  const [rooms, user, clinic] = await Promise.all([
    waitingRooms(c.env, caller.clinicId, caller.userId),
    getUser(c.env, caller.clinicId, caller.userId),
    clinicOf(c, caller),
  ]);
  if (!user || user.disabled) return toLogin(c);
  const session = await sessionOf(c, caller, displayName(user));
  return page(c, <DashboardView clinic={clinic} session={session} rooms={rooms} />, 200, clinic);
};

export const dashboardRooms: AppRouteHandler<typeof dashboardRoomsRoute> = async (c) => {
  const caller = c.get("caller");
  const rooms = await waitingRooms(c.env, caller.clinicId, caller.userId);
  return c.json(
    {
      now: now(),
      rooms: rooms.map((room) => ({
        code: room.code,
        name: room.name,
        patients: room.patients.map((p) => ({
          id: String(p.id),
          name: displayName(p),
          last_connected: p.lastConnected,
          seen_seconds_ago: p.seenAgo,
        })),
      })),
    },
    200,
  );
};

export const clinicPage: AppRouteHandler<typeof clinicPageRoute> = async (c) => {
  const caller = c.get("caller");
  const [rooms, user, clinic] = await Promise.all([
    roomsOfUser(c.env, caller.clinicId, caller.userId),
    getUser(c.env, caller.clinicId, caller.userId),
    clinicOf(c, caller),
  ]);
  if (!user || user.disabled) return toLogin(c);
  // A patient of the care-team family (group patients) sees their own record here; others have none.
  const record = caller.group === "patients" ? await openRecordPage(c, caller.userId) : undefined;
  return page(
    c,
    <ClinicView
      clinic={clinic}
      session={await sessionOf(c, caller, displayName(user))}
      rooms={rooms}
      heartbeat={caller.heartbeat}
      record={record?.props}
      noRecord={record ? undefined : "Your clinic keeps no care record for you here yet."}
    />,
    200,
    clinic,
  );
};

export const patientRecordPage: AppRouteHandler<typeof patientRecordPageRoute> = async (c) => {
  const caller = c.get("caller");
  const raw = c.req.valid("param").patientId;
  if (!/^[1-9]\d{0,14}$/.test(raw)) throw new ApiError("patient_not_found");
  let opened: Awaited<ReturnType<typeof openRecordPage>>;
  try {
    opened = await openRecordPage(c, Number(raw));
  } catch (err) {
    if (err instanceof ApiError && err.code === "not_on_care_team") {
      return forbiddenPage(
        c,
        caller,
        "You are not on this patient's care team: their clinic adds you to it.",
      );
    }
    throw err;
  }
  const [user, clinic] = await Promise.all([
    getUser(c.env, caller.clinicId, caller.userId),
    clinicOf(c, caller),
  ]);
  if (!user || user.disabled) return toLogin(c);
  return page(
    c,
    <RecordView
      clinic={clinic}
      session={await sessionOf(c, caller, displayName(user))}
      patientName={opened.patientName}
      record={opened.props}
    />,
    200,
    clinic,
  );
};

export const asset: AppRouteHandler<typeof assetRoute> = (c) => {
  const { file } = c.req.valid("param");
  const found = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
  if (!found) throw new ApiError("asset_not_found");
  return c.body(found.body, 200, { "Content-Type": found.type, "Cache-Control": "public, max-age=300" });
};

export const clinicStylesheet: AppRouteHandler<typeof clinicStylesheetRoute> = async (c) => {
  const { file } = c.req.valid("param");
  const code = file.endsWith(".css") ? file.slice(0, -4) : "";
  const clinic = code ? await portalClinicByCode(c.env, code) : undefined;
  if (!clinic?.accentColor) throw new ApiError("stylesheet_not_found");
  return c.body(clinicCss(clinic.accentColor), 200, {
    "Content-Type": "text/css; charset=utf-8",
    "Cache-Control": "public, max-age=300",
  });
};
