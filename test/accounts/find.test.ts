/**
 * `find` on the accounts family (GET /accounts, GET /personal-details) and `$select` on `get`, with the
 * queries as the MYCURE SDK (qs + `#`-typed values, test/clients/mycure-wire.ts) and the Feathers client
 * (qs, plain strings) encode them. Members see only themselves, clinic admins their clinic, nobody
 * another clinic.
 */
import qs from "qs";
import { describe, expect, it, vi } from "vitest";
import { sdkQueryString } from "../clients/mycure-wire";
import { ADMIN_AUTH, call, callAndSettle, json } from "../helpers";
import {
  type Account,
  account,
  bearer,
  email,
  expectFeathersError,
  login,
  signup,
  type Tenant,
  tenant,
} from "./support";

// Several sign-ups per test (argon2id each): more time than vitest's default on a busy machine.
vi.setConfig({ testTimeout: 30_000 });

interface Page<T> {
  total: number;
  limit: number;
  skip: number;
  data: T[];
}

async function list<T = Account>(t: Tenant, token: string, path: string, search = ""): Promise<Page<T>> {
  const res = await call("GET", search ? `${path}?${search}` : path, {
    headers: { ...t.headers, ...bearer(token) },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return json<Page<T>>(res);
}

/**
 * A clinic admin (role clinic_admin, set by the operator before it signs in) and members (signed up, not
 * signed in; `member()` signs one in).
 */
async function clinicWithAdmin(members = 3) {
  const t = await tenant();
  const created = await signup(t, { email: email() });
  const patched = await call("PATCH", `/admin/clinics/${t.code}/users/${created.uid}`, {
    headers: ADMIN_AUTH,
    json: { roles: ["clinic_admin"] },
  });
  expect(patched.status, await patched.clone().text()).toBe(200);
  const tokens = await login(t, { email: created.email });
  const others: Account[] = [];
  for (let i = 0; i < members; i++)
    others.push(await signup(t, { personalDetails: { name: { firstName: `M${i}` } } }));
  return { t, admin: { ...created, token: tokens.accessToken }, members: others };
}

async function member(t: Tenant, m: Account) {
  return (await login(t, { email: m.email })).accessToken;
}

describe("GET /accounts (find)", () => {
  it("a member finds only their own account, whatever the query", async () => {
    const { t, members } = await clinicWithAdmin(2);
    const [me, other] = members as [Account, Account];
    const token = await member(t, me);
    const page = await list(t, token, "/accounts");
    expect(page).toEqual({ total: 1, limit: 10, skip: 0, data: [me] });
    const theirs = await list(t, token, "/accounts", qs.stringify({ uid: other.uid }));
    expect(theirs).toEqual({ total: 0, limit: 10, skip: 0, data: [] });
    const or = await list(
      t,
      token,
      "/accounts",
      qs.stringify({ $or: [{ uid: other.uid }, { email: other.email }] }),
    );
    expect(or.total).toBe(0);
  });

  it("a clinic admin lists the clinic's accounts with the SDK's #-typed $limit, $skip and $sort", async () => {
    const { t, admin, members } = await clinicWithAdmin(3);
    const all = await list(t, admin.token, "/accounts", sdkQueryString({ $sort: { uid: 1 } }));
    expect(all.total).toBe(4);
    expect(all.data.map((a) => a.uid)).toEqual([admin.uid, ...members.map((m) => m.uid)]);

    const search = sdkQueryString({ $limit: 2, $skip: 1, $sort: { createdAt: -1, uid: -1 } });
    expect(search).toBe("%24limit=%232&%24skip=%231&%24sort%5BcreatedAt%5D=%23-1&%24sort%5Buid%5D=%23-1");
    const page = await list(t, admin.token, "/accounts", search);
    expect(page.total).toBe(4);
    // Listing others' accounts is a profile access in the audit log (written after the response).
    await callAndSettle("GET", `/accounts?${search}`, { headers: { ...t.headers, ...bearer(admin.token) } });
    const audit = await call("GET", `/admin/audit?clinic=${t.code}&event=profile_access`, {
      headers: ADMIN_AUTH,
    });
    const rows = (await json<{ data: { actor_user_id: number; details: Record<string, unknown> }[] }>(audit))
      .data;
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows[0]).toMatchObject({ details: { via: "clinic_admin", resource: "accounts" } });
    expect(page.limit).toBe(2);
    expect(page.skip).toBe(1);
    const descending = [admin.uid, ...members.map((m) => m.uid)].reverse();
    expect(page.data.map((a) => a.uid)).toEqual(descending.slice(1, 3));
  });

  it("$in, $nin, $ne, booleans (#true / true), $or, email in any case, $select", async () => {
    const { t, admin, members } = await clinicWithAdmin(3);
    const [m1, m2, m3] = members as [
      Account & { email: string },
      Account & { email: string },
      Account & { email: string },
    ];
    const pick = async (query: Record<string, unknown>, sdk = true) =>
      (await list(t, admin.token, "/accounts", sdk ? sdkQueryString(query) : qs.stringify(query))).data
        .map((a) => a.uid)
        .sort();
    const sorted = (...ids: string[]) => [...ids].sort();
    expect(await pick({ uid: { $in: [Number(m1.uid), Number(m2.uid)] } })).toEqual(sorted(m1.uid, m2.uid));
    expect(await pick({ uid: { $in: [] } })).toEqual([]);
    expect(await pick({ uid: { $nin: [Number(admin.uid)] } })).toEqual(sorted(m1.uid, m2.uid, m3.uid));
    expect(await pick({ email: { $ne: m3.email } })).toEqual(sorted(admin.uid, m1.uid, m2.uid));
    expect(await pick({ email: m2.email.toUpperCase() })).toEqual([m2.uid]);
    expect(await pick({ $or: [{ email: m1.email }, { uid: m3.uid }] }, false)).toEqual(
      sorted(m1.uid, m3.uid),
    );
    expect(await pick({ isDoctor: false, isDisabled: false, $limit: 50 })).toHaveLength(4);
    expect(await pick({ isDoctor: true })).toEqual([]);
    expect(await pick({ isDoctor: "true" }, false)).toEqual([]);
    const since = new Date(Date.parse(m1.createdAt) - 1000).toISOString();
    expect((await pick({ createdAt: { $gte: since } }, false)).length).toBeGreaterThanOrEqual(1);
    expect(await pick({ createdAt: { $lt: Date.parse(admin.createdAt) } })).toEqual([]);

    const selected = await list(
      t,
      admin.token,
      "/accounts",
      sdkQueryString({ $select: ["email"], uid: m1.uid }),
    );
    expect(selected.data).toEqual([{ uid: m1.uid, email: m1.email }]);
  });

  it("$limit is capped at 50 and $limit=0 counts only", async () => {
    const { t, admin } = await clinicWithAdmin(1);
    const capped = await list(t, admin.token, "/accounts", "$limit=1000");
    expect(capped.limit).toBe(50);
    const counted = await list(t, admin.token, "/accounts", sdkQueryString({ $limit: 0 }));
    expect(counted).toEqual({ total: 2, limit: 0, skip: 0, data: [] });
  });

  it("an admin never sees another clinic's accounts", async () => {
    const a = await clinicWithAdmin(1);
    const b = await clinicWithAdmin(1);
    const bMember = b.members[0] as Account;
    const page = await list(a.t, a.admin.token, "/accounts", qs.stringify({ uid: bMember.uid }));
    expect(page.total).toBe(0);
    const all = await list(a.t, a.admin.token, "/accounts", "$limit=50");
    expect(all.data.map((x) => x.uid).sort()).toEqual([a.admin.uid, (a.members[0] as Account).uid].sort());
    // B's token is for B only, whatever clinic the request names.
    const cross = await call("GET", "/accounts", { headers: { ...a.t.headers, ...bearer(b.admin.token) } });
    await expectFeathersError(cross, 401);
  });

  it("unknown fields, secrets and other operators are a BadRequest in the Feathers shape", async () => {
    const t = await tenant();
    const me = await account(t);
    for (const search of [
      "passwordHash[$ne]=x",
      "password=x",
      "mfaSecret[$gt]=",
      "email[$regex]=.",
      "$where=1",
      "$limit=-1",
      "$sort[password]=1",
      "$select[]=passwordHash",
      "uid=not-a-uid",
      "$or[0][$or][0][uid]=1",
    ]) {
      const res = await call("GET", `/accounts?${search}`, { headers: { ...t.headers, ...me.auth } });
      const body = await expectFeathersError(res, 400);
      expect(body).toMatchObject({ name: "BadRequest", className: "bad-request" });
    }
    await expectFeathersError(await call("GET", "/accounts", { headers: t.headers }), 401);
  });
});

describe("GET /personal-details (find)", () => {
  it("a member finds their own personal details; an admin the clinic's, with name filters", async () => {
    const { t, admin, members } = await clinicWithAdmin(3);
    const me = members[1] as Account;
    const token = await member(t, me);
    const mine = await list<{ id: string; name: Record<string, string> }>(
      t,
      token,
      "/personal-details",
      sdkQueryString({ $limit: 5, $skip: 0 }),
    );
    expect(mine.total).toBe(1);
    expect(mine.data[0]).toMatchObject({ id: me.uid, name: { firstName: "M1" } });
    const byName = await list<{ id: string }>(
      t,
      admin.token,
      "/personal-details",
      qs.stringify({ "name.firstName": { $in: ["M1", "M2"] } }),
    );
    expect(byName.data.map((d) => d.id).sort()).toEqual([me.uid, (members[2] as Account).uid].sort());
    const selected = await list(
      t,
      admin.token,
      "/personal-details",
      sdkQueryString({ $select: ["name"], id: Number(me.uid) }),
    );
    expect(selected.data).toEqual([{ id: me.uid, name: { firstName: "M1" } }]);
  });
});

describe("$select on get", () => {
  it("GET /accounts/:uid and /personal-details/:id return only the selected fields (and the id)", async () => {
    const t = await tenant();
    const me = await account(t, { personalDetails: { name: { firstName: "Ana" }, sex: "female" } });
    const headers = { ...t.headers, ...me.auth };
    const acc = await call(
      "GET",
      `/accounts/${me.uid}?${sdkQueryString({ $select: ["email", "isDoctor"] })}`,
      { headers },
    );
    expect(await json(acc)).toEqual({ uid: me.uid, email: me.email, isDoctor: false });
    const pd = await call("GET", `/personal-details/${me.uid}?${qs.stringify({ $select: ["sex"] })}`, {
      headers,
    });
    expect(await json(pd)).toEqual({ id: me.uid, sex: "female" });
    const bad = await call("GET", `/accounts/${me.uid}?$limit=1`, { headers });
    await expectFeathersError(bad, 400);
    const unknown = await call("GET", `/accounts/${me.uid}?$select[]=passwordHash`, { headers });
    await expectFeathersError(unknown, 400);
  });
});
