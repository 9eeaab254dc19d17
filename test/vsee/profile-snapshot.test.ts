/**
 * Own-profile reads from the token's KV record (docs/storage.md "Profile snapshots"): GET /api_v3/me and
 * GET /accounts/{uid} answer from the profile snapshot kept with the token while it is fresh, with no D1
 * read; a revoked token is still refused at once; profile writes rewrite every live session's snapshot
 * before they answer; a snapshot is believed PROFILE_MAX_AGE seconds at most.
 */
import { afterEach, describe, expect, it } from "vitest";
import { accessKey } from "../../src/kv/access";
import { jwtSessionKey } from "../../src/kv/jwt-sessions";
import { PROFILE_MAX_AGE } from "../../src/kv/profile";
import { refreshProfiles } from "../../src/services/own-profile";
import { hashToken, revokeSessions } from "../../src/services/sessions";
import { getUser } from "../../src/services/users";
import type { Bindings } from "../../src/types";
import { account, act, bearer, tenant, totp } from "../accounts/support";
import { call, callAndSettle, clock, createClinic, env, json } from "../helpers";
import { adminPatchUser, sso } from "./support";

afterEach(() => clock.reset());

type Me = { data: Record<string, unknown> };

const me = async (headers: Record<string, string>) => {
  const res = await callAndSettle("GET", "/api_v3/me", { headers });
  return { status: res.status, data: res.status === 200 ? (await json<Me>(res)).data : undefined };
};

/** A change to the users row that no route makes (so that no snapshot is rewritten). */
const renameInD1 = (id: string, firstName: string) =>
  env.DB.prepare("UPDATE users SET first_name = ? WHERE id = ?").bind(firstName, Number(id)).run();

const stored = async (key: string) => env.KV.get<Record<string, unknown>>(key, "json");

describe("GET /api_v3/me from the token's snapshot", () => {
  it("answers from the snapshot (no D1 read) until it is PROFILE_MAX_AGE old, then from D1 again", async () => {
    clock.freeze();
    const clinic = await createClinic();
    const user = await sso(clinic, { first_name: "Ana" });
    // The first read takes the snapshot (after its response).
    expect((await me(user.auth)).data?.first_name).toBe("Ana");
    const record = await stored(accessKey(await hashToken(user.token)));
    expect(record?.p).toMatchObject({ id: Number(user.id), firstName: "Ana" });
    // Never a secret in it.
    expect(Object.keys(record?.p as object)).not.toEqual(
      expect.arrayContaining(["passwordHash", "mfaSecret", "details", "extra"]),
    );
    await renameInD1(user.id, "Bea");
    clock.advance(PROFILE_MAX_AGE - 1);
    expect((await me(user.auth)).data?.first_name).toBe("Ana");
    clock.advance(1);
    expect((await me(user.auth)).data?.first_name).toBe("Bea");
    // …and the new snapshot is taken from that read.
    await renameInD1(user.id, "Cy");
    expect((await me(user.auth)).data?.first_name).toBe("Bea");
  });

  it("POST /me rewrites the snapshot of every live session of the user at once", async () => {
    const clinic = await createClinic();
    const first = await sso(clinic, { first_name: "Ana" });
    const second = await sso(clinic, { code: first.code, first_name: "Ana" });
    expect((await me(first.auth)).data?.first_name).toBe("Ana");
    expect((await me(second.auth)).data?.first_name).toBe("Ana");
    const res = await call("POST", "/api_v3/me", {
      headers: first.auth,
      json: { first_name: "Dee", city: "Hue" },
    });
    expect(res.status).toBe(200);
    for (const u of [first, second])
      expect((await me(u.auth)).data).toMatchObject({ first_name: "Dee", city: "Hue" });
  });

  it("a revoked token is refused at once, snapshot or not", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    expect((await me(user.auth)).status).toBe(200);
    expect((await call("POST", "/api_v3/users/logout", { headers: user.auth, json: {} })).status).toBe(200);
    expect((await me(user.auth)).status).toBe(401);

    const other = await sso(clinic);
    expect((await me(other.auth)).status).toBe(200);
    await adminPatchUser(clinic, other.id, { disabled: true });
    expect((await me(other.auth)).status).toBe(401);
  });

  it("a disabled user whose KV token outlived the revocation is refused once the snapshot is stale", async () => {
    clock.freeze();
    const clinic = await createClinic();
    const user = await sso(clinic);
    expect((await me(user.auth)).status).toBe(200);
    // As if the revocation's KV delete had failed (the sweeper would delete it at its next run).
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(Number(user.id)).run();
    clock.advance(PROFILE_MAX_AGE);
    expect((await me(user.auth)).status).toBe(401);
  });

  it("a rewrite racing a sign-out does not bring the signed-out token back", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic, { first_name: "Ana" });
    const hash = await hashToken(user.token);
    const row = await getUser(env, (await idOf(user.id)).clinicId, Number(user.id));
    if (!row) throw new Error("no user");
    // A KV whose first read of the token's record lets a sign-out run between that read and the put.
    let raced = false;
    const kv = new Proxy(env.KV, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== "get") return typeof value === "function" ? value.bind(target) : value;
        return async (key: string, type: "json") => {
          const result = await target.get(key, type);
          if (!raced && key === accessKey(hash)) {
            raced = true;
            await revokeSessions(env, { userId: row.id, clinicId: row.clinicId });
          }
          return result;
        };
      },
    });
    await refreshProfiles({ ...env, KV: kv } as Bindings, { ...row, firstName: "Eve" });
    expect(raced).toBe(true);
    expect(await env.KV.get(accessKey(hash))).toBeNull();
    expect((await me(user.auth)).status).toBe(401);
  });
});

/** The user's clinic id (the test clinic fixture names the clinic by code). */
async function idOf(userId: string) {
  const row = await env.DB.prepare("SELECT clinic_id AS clinicId FROM users WHERE id = ?")
    .bind(Number(userId))
    .first<{ clinicId: number }>();
  if (!row) throw new Error("no user");
  return row;
}

describe("GET /accounts/{uid} from the session's snapshot", () => {
  const read = async (
    t: { headers: Record<string, string> },
    a: { uid: string; auth: Record<string, string> },
  ) => {
    const res = await callAndSettle("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } });
    return {
      status: res.status,
      body: res.status === 200 ? await json<Record<string, unknown>>(res) : undefined,
    };
  };

  it("answers from the snapshot, and every write of the account's own rewrites it at once", async () => {
    const t = await tenant();
    const a = await account(t);
    expect((await read(t, a)).body?.isFirstLogin).toBe(true);
    const sid = (
      await env.DB.prepare("SELECT id FROM sessions WHERE user_id = ? AND kind = 'accounts'")
        .bind(Number(a.uid))
        .first<{ id: string }>()
    )?.id;
    expect((await stored(jwtSessionKey(String(sid))))?.p).toMatchObject({ id: Number(a.uid) });
    // Served from the snapshot: a change no route makes is not seen…
    await env.DB.prepare("UPDATE users SET is_doctor = 1 WHERE id = ?").bind(Number(a.uid)).run();
    expect((await read(t, a)).body?.isDoctor).toBe(false);
    await env.DB.prepare("UPDATE users SET is_doctor = 0 WHERE id = ?").bind(Number(a.uid)).run();

    // …while the account's own writes are, at once.
    const patched = await call("PATCH", `/accounts/${a.uid}`, {
      headers: { ...t.headers, ...a.auth },
      json: { isFirstLogin: false },
    });
    expect(patched.status).toBe(200);
    expect((await read(t, a)).body?.isFirstLogin).toBe(false);

    const details = await callAndSettle("PATCH", `/personal-details/${a.uid}`, {
      headers: { ...t.headers, ...a.auth },
      json: { doc_PRCLicenseNo: "0123456" },
    });
    expect(details.status).toBe(200);
    expect((await read(t, a)).body?.isDoctor).toBe(true);
  });

  it("turning on two-factor shows at once; signing out refuses the token at once", async () => {
    const t = await tenant();
    const a = await account(t);
    expect((await read(t, a)).body?.mfaEnabled).toBe(false);
    const setup = await json<{ secret: string }>(await act(t, { action: "setupMFA", enable: true }, a.auth));
    const verified = await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, a.auth);
    expect(verified.status).toBe(201);
    expect((await read(t, a)).body?.mfaEnabled).toBe(true);

    expect((await call("DELETE", "/authentication", { headers: { ...t.headers, ...a.auth } })).status).toBe(
      200,
    );
    expect((await read(t, a)).status).toBe(401);
  });

  it("another account's uid is 404 without a read of it", async () => {
    const t = await tenant();
    const a = await account(t);
    const b = await account(t);
    const res = await call("GET", `/accounts/${b.uid}`, {
      headers: { ...t.headers, ...bearer(a.tokens.accessToken) },
    });
    expect(res.status).toBe(404);
  });
});
