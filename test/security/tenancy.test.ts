/**
 * Tenancy refusals that a planted bug used to slip past (issue 16, "Tests that a planted bug slips past"),
 * and finding 15: a disabled clinic's API key gets 403 on SSO and on lists, a disabled clinic enrolls
 * nobody, and a portal cookie naming another clinic in X-AccountCode gets 401.
 */
import { describe, expect, it } from "vitest";
import { ADMIN_AUTH, call, callAndSettle, createClinic, json, type TestClinic, uniq } from "../helpers";
import { ORIGIN, pageCsrf, signedIn } from "../portal/support";
import { registerAs } from "../register/support";
import { createRoom } from "../vsee/support";

const DISABLED = { code: 403, message: "This account is disabled" };

async function setDisabled(clinic: TestClinic, disabled: boolean) {
  const res = await callAndSettle("PATCH", `/admin/clinics/${clinic.code}`, {
    headers: ADMIN_AUTH,
    json: { disabled },
  });
  expect(res.status).toBe(200);
}

describe("a disabled clinic's API key", () => {
  it("gets 403 on SSO, and creates no user", async () => {
    const clinic = await createClinic();
    const code = uniq("ext");
    await setDisabled(clinic, true);
    const res = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: { code, first_name: "Pat", last_name: "Ient", type: "200" },
    });
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual(DISABLED);
    // Re-enabled, the same SSO creates the user for the first time.
    await setDisabled(clinic, false);
    const again = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      form: { code, first_name: "Pat", last_name: "Ient", type: "200" },
    });
    expect(again.status).toBe(200);
  });

  it("gets 403 on lists (users and rooms) and on a room's providers", async () => {
    const clinic = await createClinic();
    const room = await createRoom(clinic);
    expect((await call("GET", "/api_v3/users", { headers: clinic.server })).status).toBe(200);
    await setDisabled(clinic, true);
    for (const path of [
      "/api_v3/users",
      "/api_v3/users.json?type=200",
      "/api_v3/rooms",
      `/api_v3/rooms/${room.code}/providers`,
    ]) {
      const res = await call("GET", path, { headers: clinic.server });
      expect(res.status, path).toBe(403);
      expect(await json(res), path).toEqual(DISABLED);
    }
  });
});

describe("POST /register/enroll for a disabled clinic (finding 15)", () => {
  const enroll = (clinic: TestClinic, stoken: string) =>
    call("POST", "/register/enroll", { headers: { "X-AccountCode": clinic.code }, json: { stoken } });

  it("answers 403, not enrolled: true, and leaves the token unspent", async () => {
    const clinic = await createClinic();
    const reg = await registerAs(clinic, "patients");
    const stoken = reg.body.assertion["X-Ionic-Reg-Stoken"] as string;
    await setDisabled(clinic, true);
    const refused = await enroll(clinic, stoken);
    expect(refused.status).toBe(403);
    expect(await json(refused)).toEqual({ error: "This account is disabled" });
    // Nothing was spent by the refusal: once the operator re-enables the clinic, the token works once.
    await setDisabled(clinic, false);
    const ok = await enroll(clinic, stoken);
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ enrolled: true, id: reg.body.user.id });
    expect((await enroll(clinic, stoken)).status).toBe(401);
  });

  it("still answers 401 for an unknown token of a disabled clinic (no token, no disclosure beyond the header's)", async () => {
    const clinic = await createClinic();
    await setDisabled(clinic, true);
    expect((await enroll(clinic, "0".repeat(64))).status).toBe(401);
  });
});

describe("a cookie-authenticated API call naming another clinic", () => {
  it("gets 401 at POST /api_v3/users/alive, with the right cookie and CSRF token", async () => {
    const clinic = await createClinic();
    const other = await createClinic();
    const patient = await signedIn(clinic, { type: "200" });
    const csrf = await pageCsrf(patient, "/u/clinic");
    const headers = { "X-CSRF-Token": csrf, origin: ORIGIN };
    for (const code of [other.code, `${clinic.code}x`, "no-such-clinic"]) {
      const res = await patient.call("POST", "/api_v3/users/alive", {
        headers: { ...headers, "X-AccountCode": code },
      });
      expect(res.status, code).toBe(401);
      expect(await json(res), code).toEqual({ code: 401, message: "Invalid or expired token" });
    }
    // The same call naming its own clinic (or none) is accepted.
    for (const extra of [{ "X-AccountCode": clinic.code }, {}] as Record<string, string>[]) {
      const res = await patient.call("POST", "/api_v3/users/alive", { headers: { ...headers, ...extra } });
      expect(res.status).toBe(200);
    }
  });
});
