/**
 * The register family's session cookie (issue 17 #3): the seed's demo client (Ionic/Virgil,
 * client/src/Connection.ts) calls POST /register, then GET/PUT/DELETE /state with relative URLs, no
 * Authorization header and default fetch credentials. POST /register sets `__Host-ce_care` (the body's
 * token); the family's routes take it only without a token header and from a page of this very origin.
 */
import { afterEach, describe, expect, it } from "vitest";
import { call, clock, createClinic, json, type TestClinic } from "../helpers";
import { ensureDefaultClinic, person, registerAs, sharedClinic } from "./support";

afterEach(() => clock.reset());

/** The worker's own origin in tests (test/helpers.ts buildRequest). */
const ORIGIN = "https://clinic-edge.test";
/** What Chromium sends on a same-origin fetch: GET without Origin, other methods with it. */
const SAME_ORIGIN_GET = { "Sec-Fetch-Site": "same-origin" };
const SAME_ORIGIN_WRITE = { "Sec-Fetch-Site": "same-origin", Origin: ORIGIN };
const COOKIE = "__Host-ce_care";

/** The cookie POST /register set, as name, value and attributes. */
function setCookieOf(res: Response) {
  const header = res.headers.get("set-cookie");
  if (!header) return null;
  const [pair, ...attributes] = header.split(";").map((p) => p.trim());
  const at = (pair ?? "").indexOf("=");
  return {
    name: pair?.slice(0, at),
    value: pair?.slice(at + 1),
    attributes: attributes.sort(),
  };
}

/** POST /register as the demo page does (same-origin fetch, JSON, no credentials of its own). */
async function registerFromPage(clinic: TestClinic | null, overrides: Record<string, string> = {}) {
  const input = person("patients", overrides);
  const res = await call("POST", "/register", {
    headers: { ...SAME_ORIGIN_WRITE, ...(clinic ? { "X-AccountCode": clinic.code } : {}) },
    json: input,
  });
  return { res, input, cookie: setCookieOf(res) };
}

async function patientCookie(clinic: TestClinic) {
  const { res, cookie } = await registerFromPage(clinic);
  expect(res.status).toBe(200);
  const body = await json<{ token: string }>(res);
  if (!cookie?.value) throw new Error("no cookie");
  return { token: body.token, header: { cookie: `${COOKIE}=${cookie.value}`, "X-AccountCode": clinic.code } };
}

describe("POST /register sets the session cookie", () => {
  it("with exactly the attributes of the issue, holding the body's token for its lifetime", async () => {
    clock.freeze();
    const clinic = await sharedClinic();
    const { res, cookie } = await registerFromPage(clinic);
    expect(res.status).toBe(200);
    const body = await json<{ token: string }>(res);
    expect(cookie).toEqual({
      name: COOKIE,
      value: body.token,
      attributes: ["HttpOnly", "Max-Age=86400", "Path=/", "SameSite=Strict", "Secure"],
    });
  });

  it("never on a refused registration (400, 401, 403, 409)", async () => {
    const clinic = await sharedClinic();
    const first = await registerFromPage(clinic);
    expect(first.res.status).toBe(200);
    const closed = await createClinic(); // no self-registration
    const refused = [
      // 400: invalid input
      await call("POST", "/register", {
        headers: { ...SAME_ORIGIN_WRITE, "X-AccountCode": clinic.code },
        json: { ...person("patients"), firstName: "" },
      }),
      // 401: anonymous re-registration of an existing email
      await call("POST", "/register", {
        headers: { ...SAME_ORIGIN_WRITE, "X-AccountCode": clinic.code },
        json: person("patients", { email: first.input.email }),
      }),
      // 403: the clinic takes no anonymous patients
      await call("POST", "/register", {
        headers: { ...SAME_ORIGIN_WRITE, "X-AccountCode": closed.code },
        json: person("patients"),
      }),
      // 409: the clinic's key for an email somebody registered without verifying it
      await call("POST", "/register", {
        headers: { ...SAME_ORIGIN_WRITE, ...clinic.server },
        json: person("patients", { email: first.input.email }),
      }),
    ];
    expect(refused.map((r) => r.status)).toEqual([400, 401, 403, 409]);
    for (const res of refused) expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("not for a request that is not from a page of this origin (no login CSRF)", async () => {
    const clinic = await sharedClinic();
    const cases: Record<string, string>[] = [
      {}, // a server
      { Origin: "https://evil.example" },
      { Origin: ORIGIN, "Sec-Fetch-Site": "same-site" },
      { "Sec-Fetch-Site": "cross-site" },
    ];
    for (const headers of cases) {
      const res = await call("POST", "/register", {
        headers: { ...headers, "X-AccountCode": clinic.code },
        json: person("patients"),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("set-cookie")).toBeNull();
    }
  });
});

describe("the cookie on the register family's routes", () => {
  it("runs the demo client's calls unchanged: register, read, write one field, reset", async () => {
    await ensureDefaultClinic(); // Connection.ts sends no X-AccountCode
    const { res, cookie } = await registerFromPage(null);
    expect(res.status).toBe(200);
    const jar = { cookie: `${COOKIE}=${cookie?.value}` };
    const read = await call("GET", "/state", { headers: { ...jar, ...SAME_ORIGIN_GET } });
    expect(read.status).toBe(200);
    const put = await call("PUT", "/state", {
      headers: { ...jar, ...SAME_ORIGIN_WRITE },
      json: { medical_history: "cookie-authenticated" },
    });
    expect(put.status).toBe(200);
    expect(await json(put)).toMatchObject({ medical_history: "cookie-authenticated" });
    const again = await call("GET", "/state", { headers: { ...jar, ...SAME_ORIGIN_GET } });
    expect(await json(again)).toMatchObject({ medical_history: "cookie-authenticated" });
    // Resetting stays a physician's (or admin's) right: the patient's cookie is accepted, the role is not.
    const refused = await call("DELETE", "/state", { headers: { ...jar, ...SAME_ORIGIN_WRITE } });
    expect(refused.status).toBe(403);
    expect(await json(refused)).toEqual({
      error: "Only clinic admins and physicians can reset the care record",
    });
  });

  it("DELETE /state with a physician's cookie (registered by a page that holds the clinic's key)", async () => {
    const clinic = await sharedClinic();
    const res = await call("POST", "/register", {
      headers: { ...SAME_ORIGIN_WRITE, ...clinic.server },
      json: person("physicians"),
    });
    expect(res.status).toBe(200);
    const jar = { cookie: `${COOKIE}=${setCookieOf(res)?.value}`, "X-AccountCode": clinic.code };
    const put = await call("PUT", "/state", {
      headers: { ...jar, ...SAME_ORIGIN_WRITE },
      json: { prescription: "rest" },
    });
    expect(await json(put)).toMatchObject({ prescription: "rest", version: 1 });
    const reset = await call("DELETE", "/state", { headers: { ...jar, ...SAME_ORIGIN_WRITE } });
    expect(reset.status).toBe(200);
    expect(await json(reset)).toEqual({ version: 2 });
  });

  it("works on GET /state without Sec-Fetch-Site (older browsers), and on history and records", async () => {
    const clinic = await sharedClinic();
    const { header } = await patientCookie(clinic);
    expect((await call("GET", "/state", { headers: header })).status).toBe(200);
    expect((await call("GET", "/state/history", { headers: { ...header, ...SAME_ORIGIN_GET } })).status).toBe(
      200,
    );
    expect((await call("GET", "/records", { headers: { ...header, ...SAME_ORIGIN_GET } })).status).toBe(200);
  });

  it("works on a per-patient clinic's /records routes, with the same origin rules", async () => {
    const clinic = await createClinic({ settings: { selfRegisterGroups: ["patients"] } });
    const { res } = await registerFromPage(clinic);
    const body = await json<{ user: { id: string } }>(res);
    const jar = { cookie: `${COOKIE}=${setCookieOf(res)?.value}`, "X-AccountCode": clinic.code };
    const path = `/records/${body.user.id}`;
    const put = await call("PUT", path, {
      headers: { ...jar, ...SAME_ORIGIN_WRITE },
      json: { medical_history: "own record" },
    });
    expect(put.status).toBe(200);
    const read = await call("GET", path, { headers: { ...jar, ...SAME_ORIGIN_GET } });
    expect(await json(read)).toMatchObject({ medical_history: "own record", version: 1 });
    const noOrigin = await call("PUT", path, {
      headers: { ...jar, "Sec-Fetch-Site": "same-origin" },
      json: { medical_history: "forged" },
    });
    expect(noOrigin.status).toBe(403);
    const members = await call("GET", `${path}/members`, { headers: { ...jar, ...SAME_ORIGIN_GET } });
    expect(members.status).toBe(200);
  });

  it("refuses cross-site and same-site requests (403)", async () => {
    const clinic = await sharedClinic();
    const { header } = await patientCookie(clinic);
    for (const site of ["cross-site", "same-site", "none"]) {
      const res = await call("GET", "/state", { headers: { ...header, "Sec-Fetch-Site": site } });
      expect(res.status).toBe(403);
      expect(await json(res)).toEqual({
        error: "The session cookie is accepted only from pages of this origin",
      });
    }
    const foreignGet = await call("GET", "/state", {
      headers: { ...header, Origin: "https://evil.example" },
    });
    expect(foreignGet.status).toBe(403);
  });

  it("refuses a PUT or DELETE with a foreign or missing Origin, and changes nothing", async () => {
    const clinic = await sharedClinic();
    const { header } = await patientCookie(clinic);
    const origins: Record<string, string>[] = [{ Origin: "https://evil.example" }, { Origin: "null" }, {}];
    for (const origin of origins) {
      const put = await call("PUT", "/state", {
        headers: { ...header, "Sec-Fetch-Site": "same-origin", ...origin },
        json: { medical_history: "forged" },
      });
      expect(put.status).toBe(403);
      expect(await json(put)).toEqual({
        error: "The session cookie is accepted only from pages of this origin",
      });
      const del = await call("DELETE", "/state", {
        headers: { ...header, "Sec-Fetch-Site": "same-origin", ...origin },
      });
      expect(del.status).toBe(403);
    }
    const read = await call("GET", "/state", { headers: { ...header, ...SAME_ORIGIN_GET } });
    expect(await json(read)).toEqual({ version: 0 });
  });

  it("is not consulted when a token header is sent: a bad token is refused whatever the cookie", async () => {
    const clinic = await sharedClinic();
    const { header } = await patientCookie(clinic);
    const extras: Record<string, string>[] = [
      { authorization: `Bearer ${"0".repeat(32)}` },
      { authorization: "Basic dXNlcjpwYXNz" },
      { "X-ApiToken": "0".repeat(32) },
    ];
    for (const extra of extras) {
      const res = await call("GET", "/state", { headers: { ...header, ...SAME_ORIGIN_GET, ...extra } });
      expect(res.status).toBe(401);
    }
    // A good bearer token with a bad cookie: the token alone decides.
    const other = await registerAs(clinic, "patients");
    const res = await call("GET", "/state", {
      headers: { ...other.auth, cookie: `${COOKIE}=${"0".repeat(32)}`, ...SAME_ORIGIN_GET },
    });
    expect(res.status).toBe(200);
    // A bad cookie alone: 401 in the register shape.
    const bad = await call("GET", "/state", {
      headers: { "X-AccountCode": clinic.code, cookie: `${COOKIE}=${"0".repeat(32)}`, ...SAME_ORIGIN_GET },
    });
    expect(bad.status).toBe(401);
    expect(await json(bad)).toEqual({ error: "Invalid or expired token" });
  });

  it("refuses the cookie of an expired or revoked session, and of another clinic", async () => {
    clock.freeze();
    const clinic = await sharedClinic();
    const expiring = await patientCookie(clinic);
    const revoked = await patientCookie(clinic);
    const logout = await call("POST", "/api_v3/users/logout", {
      headers: { authorization: `Bearer ${revoked.token}`, "X-AccountCode": clinic.code },
    });
    expect(logout.status).toBe(200);
    expect((await call("GET", "/state", { headers: { ...revoked.header, ...SAME_ORIGIN_GET } })).status).toBe(
      401,
    );

    const elsewhere = await sharedClinic();
    const foreign = await call("GET", "/state", {
      headers: { ...expiring.header, "X-AccountCode": elsewhere.code, ...SAME_ORIGIN_GET },
    });
    expect(foreign.status).toBe(401);

    expect(
      (await call("GET", "/state", { headers: { ...expiring.header, ...SAME_ORIGIN_GET } })).status,
    ).toBe(200);
    clock.advance(24 * 3600);
    expect(
      (await call("GET", "/state", { headers: { ...expiring.header, ...SAME_ORIGIN_GET } })).status,
    ).toBe(401);
  });

  it("never authenticates another family", async () => {
    const clinic = await sharedClinic();
    const { header } = await patientCookie(clinic);
    const me = await call("GET", "/api_v3/me", { headers: { ...header, ...SAME_ORIGIN_GET } });
    expect(me.status).toBe(401);
    const portal = await call("GET", "/providers/dashboard", { headers: { ...header, ...SAME_ORIGIN_GET } });
    expect(portal.status).not.toBe(200);
  });

  it("is not taken by the live routes (bearer or subprotocol only)", async () => {
    const clinic = await sharedClinic();
    const { header } = await patientCookie(clinic);
    const res = await call("GET", "/state/live", {
      headers: { ...header, ...SAME_ORIGIN_GET, Upgrade: "websocket" },
    });
    expect(res.status).toBe(401);
  });
});
