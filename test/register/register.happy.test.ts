/** POST /register: each group, the SCIM user, the enrollment assertion and its published key. */
import { afterEach, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { base64url } from "../../src/lib/crypto";
import { ecKeyPair, peekHeader, signEs256, verifyEs256 } from "../../src/lib/jwt";
import { call, clock, env, json } from "../helpers";
import { ensureDefaultClinic, type Group, person, registerAs, sharedClinic, state } from "./support";

afterEach(() => clock.reset());

async function userRow(id: string) {
  return env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(Number(id)).first<Record<string, unknown>>();
}

async function jwks() {
  const res = await call("GET", "/.well-known/jwks.json");
  expect(res.status).toBe(200);
  return json<{ keys: (JsonWebKey & { kid: string })[] }>(res);
}

/** Verifies a Uidauth the way a relying party would: the JWKS key named by the token's kid. */
async function verifyWithJwks(token: string) {
  const kid = peekHeader(token)?.kid;
  const key = (await jwks()).keys.find((k) => k.kid === kid);
  return key ? verifyEs256(token, key) : null;
}

describe("POST /register", () => {
  it.each([
    ["patients", 200, null, "Patients"],
    ["physicians", 400, 482, "Physicians"],
    ["insurers", 300, null, "Insurers"],
  ] as const)("registers %s as type %i/%s in the clinic's users", async (group, type, subtype, display) => {
    const clinic = await sharedClinic();
    const reg = await registerAs(clinic, group);
    expect(reg.body.user.groups).toEqual([{ value: group, display }]);
    const row = await userRow(reg.body.user.id);
    expect(row).toMatchObject({
      type,
      subtype,
      group_name: group,
      email: reg.email,
      status: 20,
      disabled: 0,
    });
    expect(row?.code).toMatch(/^[0-9a-f]{32}$/);
    expect(row?.username).toMatch(/^[0-9a-f]{32}$/);
    const clinicId = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
      .bind(clinic.code)
      .first<{ id: number }>("id");
    expect(row?.clinic_id).toBe(clinicId);
  });

  it("answers the seed's SCIM 1.0 user", async () => {
    clock.set(Date.UTC(2019, 3, 16, 15, 44, 37, 512));
    const clinic = await sharedClinic();
    const input = person("patients", { firstName: "Test", lastName: "Patient" });
    // Anonymous self-registration of a patient.
    const res = await call("POST", "/register", { headers: { "X-AccountCode": clinic.code }, json: input });
    expect(res.status).toBe(200);
    const body = await json<{ user: Record<string, unknown> }>(res);
    const id = body.user.id as string;
    expect(id).toMatch(/^\d+$/);
    expect(body.user).toEqual({
      id,
      schemas: ["urn:scim:schemas:core:1.0"],
      meta: {
        created: "2019-04-16T15:44:37Z",
        lastModified: "2019-04-16T15:44:37Z",
        location: `/v2/${clinic.code}/scim/Users/${id}`,
        version: String(Date.UTC(2019, 3, 16, 15, 44, 37) / 1000),
      },
      name: { formatted: "Test Patient", familyName: "Patient", givenName: "Test" },
      emails: [{ value: input.email }],
      groups: [{ value: "patients", display: "Patients" }],
    });
  });

  it("registers in the default clinic when no X-AccountCode is sent", async () => {
    await ensureDefaultClinic();
    const res = await call("POST", "/register", { json: person("patients") });
    expect(res.status).toBe(200);
    const body = await json<{ user: { id: string; meta: { location: string } } }>(res);
    expect(body.user.meta.location).toBe(`/v2/${env.DEFAULT_ACCOUNT_CODE}/scim/Users/${body.user.id}`);
    const row = await env.DB.prepare(
      "SELECT c.code FROM users u JOIN clinics c ON c.id = u.clinic_id WHERE u.id = ?",
    )
      .bind(Number(body.user.id))
      .first<string>("code");
    expect(row).toBe(env.DEFAULT_ACCOUNT_CODE);
  });

  it("answers the five X-Ionic-Reg-* assertion fields", async () => {
    clock.freeze();
    const clinic = await sharedClinic();
    const reg = await registerAs(clinic, "physicians");
    const a = reg.body.assertion;
    expect(Object.keys(a).sort()).toEqual([
      "X-Ionic-Reg-Enrollment-Tag",
      "X-Ionic-Reg-Ionic-API-Urls",
      "X-Ionic-Reg-Pubkey",
      "X-Ionic-Reg-Stoken",
      "X-Ionic-Reg-Uidauth",
    ]);
    expect(a["X-Ionic-Reg-Ionic-API-Urls"]).toBe(env.IONIC_API_URLS);
    expect(a["X-Ionic-Reg-Enrollment-Tag"]).toBe(env.ENROLLMENT_TAG);
    expect(a["X-Ionic-Reg-Stoken"]).toMatch(/^[0-9a-f]{64}$/);
    expect(a["X-Ionic-Reg-Pubkey"]).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----\n$/,
    );

    const claims = await verifyWithJwks(a["X-Ionic-Reg-Uidauth"] as string);
    const t = Math.floor(clock.t / 1000);
    expect(claims).toEqual({
      sub: reg.body.user.id,
      id: reg.body.user.id,
      email: reg.email,
      group: "physicians",
      clinic: clinic.code,
      iat: t,
      exp: t + 600,
    });
    expect(reg.body.token).toMatch(/^[0-9a-f]{32}$/);
  });

  it("signs with the published key: the PEM is that key, tampering and expiry fail", async () => {
    clock.freeze();
    const clinic = await sharedClinic();
    const reg = await registerAs(clinic, "patients");
    const uidauth = reg.body.assertion["X-Ionic-Reg-Uidauth"] as string;
    const { keys } = await jwks();
    expect(keys[0]).not.toHaveProperty("d");
    expect(peekHeader(uidauth)).toMatchObject({ alg: "ES256", kid: keys[0]?.kid });

    // The PEM verifies the same signature.
    const pem = reg.body.assertion["X-Ionic-Reg-Pubkey"] as string;
    const der = Uint8Array.from(atob(pem.replace(/-----[A-Z ]+-----|\n/g, "")), (ch) => ch.charCodeAt(0));
    const fromPem = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, true, [
      "verify",
    ]);
    const jwk = (await crypto.subtle.exportKey("jwk", fromPem)) as JsonWebKey;
    expect({ x: jwk.x, y: jwk.y }).toEqual({ x: keys[0]?.x, y: keys[0]?.y });

    const [header, payload, signature] = uidauth.split(".") as [string, string, string];
    const claims = JSON.parse(
      new TextDecoder().decode(
        Uint8Array.from(atob(payload.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0)),
      ),
    );
    const forged = base64url(new TextEncoder().encode(JSON.stringify({ ...claims, group: "physicians" })));
    expect(await verifyWithJwks(`${header}.${forged}.${signature}`)).toBeNull();
    const flipped = signature.slice(0, -2) + (signature.endsWith("AA") ? "BB" : "AA");
    expect(await verifyWithJwks(`${header}.${payload}.${flipped}`)).toBeNull();
    expect(await verifyWithJwks(uidauth)).toMatchObject({ group: "patients" });
    clock.advance(601);
    expect(await verifyWithJwks(uidauth)).toBeNull();
  });

  it("returns a bearer token that reads the clinic's state", async () => {
    const clinic = await sharedClinic();
    const reg = await registerAs(clinic, "insurers");
    const res = await state("GET", reg);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ version: 0 });
  });

  it("accepts urlencoded and multipart bodies, names in any language", async () => {
    const clinic = await sharedClinic();
    const form = person("patients", { firstName: "Zoë-Åsa", lastName: "O'Brien Núñez" });
    const viaForm = await call("POST", "/register", { headers: { "X-AccountCode": clinic.code }, form });
    expect(viaForm.status).toBe(200);
    expect((await json<{ user: { name: unknown } }>(viaForm)).user.name).toEqual({
      formatted: "Zoë-Åsa O'Brien Núñez",
      familyName: "O'Brien Núñez",
      givenName: "Zoë-Åsa",
    });
    const multipart = person("patients", { firstName: "Аня", lastName: "李 小龍" });
    const viaMultipart = await call("POST", "/register", {
      headers: { "X-AccountCode": clinic.code },
      multipart,
    });
    expect(viaMultipart.status).toBe(200);
    const hindi = person("patients", { firstName: "अनु", lastName: "Da’Silva" });
    expect(
      (await call("POST", "/register", { headers: { "X-AccountCode": clinic.code }, json: hindi })).status,
    ).toBe(200);
  });

  it("lets a clinic open physicians or insurers to self-registration", async () => {
    const clinic = await sharedClinic({ settings: { selfRegisterGroups: ["insurers"] } });
    const headers = { "X-AccountCode": clinic.code };
    const insurer = await call("POST", "/register", { headers, json: person("insurers") });
    expect(insurer.status).toBe(200);
    const physician = await call("POST", "/register", { headers, json: person("physicians") });
    expect(physician.status).toBe(403);
  });

  it.each(["patients", "physicians", "insurers"] as Group[])(
    "returns the same %s again to that user's token and to the clinic's server",
    async (group) => {
      const clinic = await sharedClinic();
      const first = await registerAs(clinic, group);
      const input = {
        email: first.email.toUpperCase(),
        groupName: group,
        firstName: "Other",
        lastName: "Name",
      };

      const byToken = await call("POST", "/register", { headers: first.auth, json: input });
      expect(byToken.status).toBe(200);
      const again = await json<{ user: Record<string, unknown>; token: string; assertion: object }>(byToken);
      expect(again.user).toEqual(first.body.user);
      expect(again.token).not.toBe(first.body.token);

      const byServer = await call("POST", "/register", { headers: clinic.server, json: input });
      expect(byServer.status).toBe(200);
      expect((await json<{ user: unknown }>(byServer)).user).toEqual(first.body.user);

      const count = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE lower(email) = lower(?)")
        .bind(first.email)
        .first<number>("n");
      expect(count).toBe(1);
    },
  );

  it("lets a grouped-less user of the matching type join the group (with proof)", async () => {
    const clinic = await sharedClinic();
    const email = `${crypto.randomUUID()}@example.test`;
    const sso = await call("POST", "/api_v3/users/sso", {
      headers: clinic.server,
      json: { first_name: "Vee", last_name: "See", code: crypto.randomUUID(), type: 200, email },
    });
    expect(sso.status).toBe(200);
    const res = await call("POST", "/register", {
      headers: clinic.server,
      json: { email, groupName: "patients", firstName: "Vee", lastName: "See" },
    });
    expect(res.status).toBe(200);
    const body = await json<{ user: { id: string }; token: string }>(res);
    expect((await userRow(body.user.id))?.group_name).toBe("patients");
    const asPatient = await call("PUT", "/state", {
      headers: { "X-AccountCode": clinic.code, authorization: `Bearer ${body.token}` },
      json: { medical_history: "joined" },
    });
    expect(asPatient.status).toBe(200);
  });
});

describe("GET /.well-known/jwks.json", () => {
  it("publishes the current public key only (no private part), cacheable", async () => {
    const res = await call("GET", "/.well-known/jwks.json");
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const { keys } = await json<{ keys: Record<string, unknown>[] }>(res);
    const signing = JSON.parse(env.SIGNING_KEY) as Record<string, string>;
    expect(keys).toEqual([
      { kty: "EC", crv: "P-256", x: signing.x, y: signing.y, kid: signing.kid, alg: "ES256", use: "sig" },
    ]);
  });

  it("also publishes SIGNING_KEY_PREVIOUS during a rotation, so older assertions still verify", async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const previous = {
      ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey),
      kid: "old-1",
    };
    const rotated = { ...env, SIGNING_KEY_PREVIOUS: JSON.stringify(previous) };
    const res = await app.request("/.well-known/jwks.json", {}, rotated);
    const { keys } = await json<{ keys: (JsonWebKey & { kid: string })[] }>(res);
    expect(keys.map((k) => k.kid)).toEqual([JSON.parse(env.SIGNING_KEY).kid, "old-1"]);
    expect(keys[1]).toEqual({
      kty: "EC",
      crv: "P-256",
      x: previous.x,
      y: previous.y,
      kid: "old-1",
      alg: "ES256",
      use: "sig",
    });
    const old = await signEs256(
      { sub: "1", exp: Math.floor(Date.now() / 1000) + 60 },
      await ecKeyPair(JSON.stringify(previous)),
    );
    expect(await verifyEs256(old, keys[1] as JsonWebKey)).toMatchObject({ sub: "1" });
  });
});
