/** Portal test helpers: browser-like sessions (cookies), pages' CSRF tokens, and the login form. */
import { type CallOptions, call, type TestClinic, uniq } from "../helpers";
import { type SsoUser, sso } from "../vsee/support";

export const ORIGIN = "https://clinic-edge.test";

/** The value a response sets for a cookie (undefined when it does not set it). */
export function setCookieValue(res: Response, name: string): string | undefined {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair?.indexOf("=") ?? -1;
    if (pair && eq > 0 && pair.slice(0, eq) === name) return decodeURIComponent(pair.slice(eq + 1));
  }
  return undefined;
}

export function setCookieLine(res: Response, name: string): string | undefined {
  return res.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}

/** A signed-in browser: the user and its `ce_session` cookie. */
export interface Browser {
  user: SsoUser;
  cookie: string;
  /** Calls with the session cookie (and the request headers a same-origin page would send). */
  call(method: string, path: string, opts?: CallOptions): Promise<Response>;
}

export function browserOf(user: SsoUser, cookie: string): Browser {
  return {
    user,
    cookie,
    call: (method, path, opts = {}) =>
      call(method, path, { ...opts, headers: { cookie: `ce_session=${cookie}`, ...opts.headers } }),
  };
}

/** SSO (seed 001 use case 1) and GET /auth: a browser session of a new or existing user. */
export async function signedIn(clinic: TestClinic, fields: Record<string, string> = {}): Promise<Browser> {
  const user = await sso(clinic, fields);
  const res = await call("GET", `/auth?sso_token=${user.token}&next=/`);
  const cookie = setCookieValue(res, "ce_session");
  if (res.status !== 302 || !cookie) throw new Error(`auth: ${res.status}`);
  return browserOf(user, cookie);
}

/** The CSRF token a page carries (its sign-out form, or its csrf-token meta tag). */
export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html) ?? /name="csrf-token" content="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error(`no CSRF token in the page: ${html.slice(0, 300)}`);
  return m[1];
}

/** A page's CSRF token, read the way a browser would get it. */
export async function pageCsrf(b: Browser, path = "/logout"): Promise<string> {
  const res = await b.call("GET", path);
  return csrfOf(await res.text());
}

/** GET /login as a fresh browser: the nonce cookie and the form's token. */
export async function loginForm(query = ""): Promise<{ nonce: string; csrf: string; html: string }> {
  const res = await call("GET", `/login${query}`);
  const html = await res.text();
  const nonce = setCookieValue(res, "__Host-ce_login");
  if (res.status !== 200 || !nonce) throw new Error(`login form: ${res.status}`);
  return { nonce, csrf: csrfOf(html), html };
}

/** Submits the login form as the browser that loaded it. */
export async function submitLogin(
  fields: Record<string, string>,
  form?: { nonce: string; csrf: string },
  headers: Record<string, string> = {},
): Promise<Response> {
  const f = form ?? (await loginForm());
  return call("POST", "/login", {
    headers: { cookie: `__Host-ce_login=${f.nonce}`, origin: ORIGIN, ...headers },
    form: { csrf: f.csrf, ...fields },
  });
}

/** A user of the care-team family (POST /register with the clinic's key), signed in to the portal with its token. */
export async function registered(
  clinic: TestClinic,
  groupName: "patients" | "physicians" | "insurers",
  firstName: string,
  lastName: string,
): Promise<Browser> {
  const email = `${uniq(groupName.slice(0, 3))}@example.test`;
  const res = await call("POST", "/register", {
    headers: clinic.server,
    json: { email, groupName, firstName, lastName },
  });
  if (res.status !== 200) throw new Error(`register ${groupName}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { token: string; user: { id: string } };
  // Any access token of the clinic signs a browser in at GET /auth (one identity store).
  const auth = await call("GET", `/auth?sso_token=${body.token}&next=/`);
  const cookie = setCookieValue(auth, "ce_session");
  if (auth.status !== 302 || !cookie) throw new Error(`auth: ${auth.status}`);
  const user: SsoUser = {
    id: body.user.id,
    code: "",
    username: email,
    token: body.token,
    refresh: "",
    auth: { authorization: `Bearer ${body.token}`, "X-AccountCode": clinic.code },
  };
  return browserOf(user, cookie);
}

/** A patient and a physician signed in to the portal, the physician on the patient's care team (unless not). */
export async function careTeam(clinic: TestClinic, options: { team?: boolean } = {}) {
  const patient = await registered(clinic, "patients", "Pat", "Ient");
  const doctor = await registered(clinic, "physicians", "Dana", "Doctor");
  if (options.team !== false) {
    const res = await call("POST", `/records/${patient.user.id}/members`, {
      headers: clinic.server,
      json: { userId: doctor.user.id },
    });
    if (res.status !== 200) throw new Error(`team: ${res.status} ${await res.text()}`);
  }
  return { patient, doctor };
}
