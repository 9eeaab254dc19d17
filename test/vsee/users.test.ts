import { afterEach, describe, expect, it } from "vitest";
import { call, clock, createClinic, env, json, type TestClinic } from "../helpers";
import { adminPatchUser, assign, clinicAdmin, createRoom, sso } from "./support";

afterEach(() => clock.reset());

type List = { data: Record<string, unknown>[]; total_count: number };

async function list(headers: Record<string, string>, query = ""): Promise<List> {
  const res = await call("GET", `/api_v3/users${query}`, { headers });
  if (res.status !== 200) throw new Error(`list ${query}: ${res.status} ${await res.text()}`);
  return json<List>(res);
}

async function population(clinic: TestClinic) {
  const anton = await sso(clinic, {
    first_name: "Anton",
    last_name: "Patient1",
    email: "anton+patient1@vseelab.com",
  });
  const bella = await sso(clinic, {
    first_name: "Bella",
    last_name: "Antonelli",
    email: "bella@example.test",
  });
  const carl = await sso(clinic, { first_name: "Carl", last_name: "Doe", email: "carl@example.test" });
  const drew = await sso(clinic, { first_name: "Drew", last_name: "Provider", type: "400" });
  const guest = await sso(clinic, { first_name: "Gus", last_name: "Guest", type: "600" });
  return { anton, bella, carl, drew, guest };
}

describe("GET /api_v3/users — filters, search, sort, paging, fields", () => {
  it("searches q across full name and email with the seed's example (3-character minimum)", async () => {
    const clinic = await createClinic();
    const p = await population(clinic);
    const byEmail = await list(clinic.server, "?q=anton%2Bpatient1%40vseelab.com&type=200");
    expect(byEmail.total_count).toBe(1);
    expect(byEmail.data[0]).toMatchObject({
      id: p.anton.id,
      email: "anton+patient1@vseelab.com",
      full_name: "Anton Patient1",
    });
    // "ton" is in Anton and in Antonelli: substring search, case-insensitive.
    const sub = await list(clinic.server, "?q=TON&type=200");
    expect(sub.data.map((u) => u.id).sort()).toEqual([p.anton.id, p.bella.id].sort());
    const short = await call("GET", "/api_v3/users?q=an", { headers: clinic.server });
    expect(short.status).toBe(400);
    expect((await json<{ errors: unknown[] }>(short)).errors).toEqual([
      { param: "q", message: "must be at least 3 characters" },
    ]);
  });

  it("filters by full_name and email separately", async () => {
    const clinic = await createClinic();
    const p = await population(clinic);
    expect((await list(clinic.server, "?full_name=ella%20Anto")).data.map((u) => u.id)).toEqual([p.bella.id]);
    expect((await list(clinic.server, "?email=example.test")).data.map((u) => u.id).sort()).toEqual(
      [p.bella.id, p.carl.id].sort(),
    );
    // A quote in the search text is data, not FTS syntax.
    expect((await list(clinic.server, "?q=%22%20OR%20")).total_count).toBe(0);
  });

  it("search follows name and email changes; repeating the same values keeps the user findable", async () => {
    const clinic = await createClinic();
    const first = await sso(clinic, { first_name: "Quincy", last_name: "Marlowe", email: "qm@example.test" });
    const again = (fields: Record<string, string>) => sso(clinic, { code: first.code, ...fields });
    const ids = async (q: string) => (await list(clinic.server, `?q=${q}`)).data.map((u) => u.id);
    await again({ first_name: "Quincy", last_name: "Marlowe", email: "qm@example.test" });
    expect(await ids("marlowe")).toEqual([first.id]);
    await again({ first_name: "Quincy", last_name: "Thorne" });
    expect(await ids("marlowe")).toEqual([]);
    expect(await ids("thorne")).toEqual([first.id]);
    expect(await ids("qm%40example")).toEqual([first.id]);
    await again({ first_name: "Quincy", last_name: "Thorne", email: "quincy@example.test" });
    expect(await ids("qm%40example")).toEqual([]);
    expect(await ids("quincy%40example")).toEqual([first.id]);
  });

  it("total_count of unfiltered and type-only lists comes from per-type counts that stay exact", async () => {
    const clinic = await createClinic();
    const other = await createClinic();
    const p = await population(clinic);
    await population(other);
    await sso(clinic, { code: p.anton.code, first_name: "Anton" }); // the same user again: no new count
    const total = async (query = "") => (await list(clinic.server, query)).total_count;
    expect(await total()).toBe(5);
    expect(await total("?type=200")).toBe(3);
    expect(await total("?type=200,400")).toBe(4);
    expect(await total("?type[]=600")).toBe(1);
    expect(await total("?type=100")).toBe(0);
    // Writes outside the API go through the same triggers: a type change moves a user, a delete drops one.
    await env.DB.prepare("UPDATE users SET type = 400 WHERE id = ?").bind(Number(p.carl.id)).run();
    expect(await total("?type=400")).toBe(2);
    expect(await total("?type=200")).toBe(2);
    const guestId = Number(p.guest.id);
    await env.DB.batch(
      ["refresh_tokens", "sessions"]
        .map((t) => env.DB.prepare(`DELETE FROM ${t} WHERE user_id = ?`).bind(guestId))
        .concat(env.DB.prepare("DELETE FROM users WHERE id = ?").bind(guestId)),
    );
    expect(await total()).toBe(4);
    // The counts equal a count over the users, clinic by clinic.
    const counted = await env.DB.prepare(
      "SELECT clinic_id, type, count(*) AS n FROM users WHERE clinic_id IN (SELECT id FROM clinics WHERE code IN (?, ?)) GROUP BY clinic_id, type ORDER BY clinic_id, type",
    )
      .bind(clinic.code, other.code)
      .all();
    const kept = await env.DB.prepare(
      "SELECT clinic_id, type, n FROM user_counts WHERE n > 0 AND clinic_id IN (SELECT id FROM clinics WHERE code IN (?, ?)) ORDER BY clinic_id, type",
    )
      .bind(clinic.code, other.code)
      .all();
    expect(kept.results).toEqual(counted.results);
    // Any other filter counts the matching users themselves.
    expect(await total("?type=200&status=20")).toBe(2);
  });

  it("filters by id, type, status and role as scalar, comma list or array", async () => {
    const clinic = await createClinic();
    const p = await population(clinic);
    expect((await list(clinic.server, `?id=${p.anton.id}`)).data.map((u) => u.id)).toEqual([p.anton.id]);
    expect((await list(clinic.server, `?id=${p.anton.id},${p.carl.id}`)).total_count).toBe(2);
    expect((await list(clinic.server, `?id[]=${p.anton.id}&id[]=${p.carl.id}`)).total_count).toBe(2);
    expect((await list(clinic.server, "?type=400")).data.map((u) => u.id)).toEqual([p.drew.id]);
    expect((await list(clinic.server, "?type=200,600")).total_count).toBe(4);
    expect((await list(clinic.server, "?type[]=200&type[]=600")).total_count).toBe(4);
    expect((await list(clinic.server, "?status=20")).total_count).toBe(5);
    expect((await list(clinic.server, "?status=10")).total_count).toBe(0);
    await adminPatchUser(clinic, p.carl.id, { roles: ["scheduler"] });
    expect((await list(clinic.server, "?role=scheduler")).data.map((u) => u.id)).toEqual([p.carl.id]);
    expect((await list(clinic.server, "?role=clinic_admin,scheduler")).data.map((u) => u.id)).toEqual([
      p.carl.id,
    ]);
    expect((await list(clinic.server, "?is_admin=1")).total_count).toBe(0);
    await adminPatchUser(clinic, p.bella.id, { roles: ["clinic_admin"], is_hidden: true, group: "north" });
    expect((await list(clinic.server, "?is_admin=true")).data.map((u) => u.id)).toEqual([p.bella.id]);
    expect((await list(clinic.server, "?is_hidden=1")).data.map((u) => u.id)).toEqual([p.bella.id]);
    expect((await list(clinic.server, "?group=north")).data.map((u) => u.id)).toEqual([p.bella.id]);
    const bad = await call("GET", "/api_v3/users?type=abc", { headers: clinic.server });
    expect(bad.status).toBe(400);
  });

  it("sorts (full_name.asc, sort[full_name]=desc), pages (start, limit) and picks fields", async () => {
    const clinic = await createClinic();
    await population(clinic);
    const asc = await list(clinic.server, "?sort=full_name.asc");
    const names = asc.data.map((u) => u.full_name);
    expect(names).toEqual(["Anton Patient1", "Bella Antonelli", "Carl Doe", "Drew Provider", "Gus Guest"]);
    const desc = await list(clinic.server, "?sort[full_name]=desc");
    expect(desc.data.map((u) => u.full_name)).toEqual([...names].reverse());
    const page = await list(clinic.server, "?sort=full_name.asc&start=1&limit=2");
    expect(page.total_count).toBe(5);
    expect(page.data.map((u) => u.full_name)).toEqual(["Bella Antonelli", "Carl Doe"]);
    const fields = await list(clinic.server, "?fields=username,full_name&limit=1");
    expect(Object.keys(fields.data[0] ?? {}).sort()).toEqual(["full_name", "id", "username"]);
    const arrFields = await list(clinic.server, "?fields[]=first_name&fields[]=last_login&limit=1");
    expect(Object.keys(arrFields.data[0] ?? {}).sort()).toEqual(["first_name", "id", "last_login"]);
    expect((await call("GET", "/api_v3/users?fields=password_hash", { headers: clinic.server })).status).toBe(
      400,
    );
    expect(
      (await call("GET", "/api_v3/users?sort=password_hash.asc", { headers: clinic.server })).status,
    ).toBe(400);
    expect((await call("GET", "/api_v3/users?limit=1000", { headers: clinic.server })).status).toBe(400);
  });

  it("filters by room_code and ex_filter=all (the caller's rooms)", async () => {
    const clinic = await createClinic();
    const p = await population(clinic);
    const room = await createRoom(clinic);
    await assign(clinic, p.drew.id, room.code);
    await assign(clinic, p.anton.id, room.code);
    expect((await list(clinic.server, `?room_code=${room.code}`)).data.map((u) => u.id).sort()).toEqual(
      [p.anton.id, p.drew.id].sort(),
    );
    const mine = await list(p.drew.auth, "?ex_filter=all&type=200");
    expect(mine.data.map((u) => u.id)).toEqual([p.anton.id]);
  });
});

describe("GET /api_v3/users — who may list", () => {
  it("the API key and clinic admins see everybody; providers their rooms' users; members and guests 403", async () => {
    const clinic = await createClinic();
    const p = await population(clinic);
    const admin = await clinicAdmin(clinic);
    expect((await list(clinic.server)).total_count).toBe(6);
    expect((await list(admin.auth)).total_count).toBe(6);
    // A provider without rooms sees nobody; with a room, its members.
    expect((await list(p.drew.auth)).total_count).toBe(0);
    const room = await createRoom(clinic);
    await assign(clinic, p.drew.id, room.code);
    await assign(clinic, p.carl.id, room.code);
    expect((await list(p.drew.auth)).data.map((u) => u.id).sort()).toEqual([p.carl.id, p.drew.id].sort());
    for (const who of [p.anton, p.guest]) {
      const res = await call("GET", "/api_v3/users", { headers: who.auth });
      expect(res.status).toBe(403);
      expect(await json(res)).toEqual({ code: 403, message: "Members and guests cannot list users" });
    }
    expect((await call("GET", "/api_v3/users")).status).toBe(401);
  });

  it("never shows another clinic's users", async () => {
    const a = await createClinic();
    const b = await createClinic();
    await population(a);
    const onlyB = await sso(b, { first_name: "Zed", last_name: "Anton" });
    const listed = await list(b.server, "?q=anton");
    expect(listed.data.map((u) => u.id)).toEqual([onlyB.id]);
    expect((await list(b.server, `?account_code=${a.code}`)).total_count).toBe(0);
  });
});

describe("GET /api_v3/users?alive=1 and POST /api_v3/users/alive", () => {
  it("records the heartbeat and lists only users whose heartbeat has not lapsed", async () => {
    const clinic = await createClinic();
    const p = await population(clinic);
    clock.freeze();
    const beat = await call("POST", "/api_v3/users/alive.json", { headers: p.anton.auth });
    expect(beat.status).toBe(200);
    const { data } = await json<{ data: { last_connected: number; heartbeat: number } }>(beat);
    expect(data).toEqual({ last_connected: Math.floor(clock.t / 1000), heartbeat: 300 });
    const short = await call("POST", "/api_v3/users/alive", {
      headers: p.bella.auth,
      form: { heartbeat: "60" },
    });
    expect((await json<{ data: { heartbeat: number } }>(short)).data.heartbeat).toBe(60);
    const alive = await list(clinic.server, "?alive=1");
    expect(alive.data.map((u) => u.id).sort()).toEqual([p.anton.id, p.bella.id].sort());
    expect(alive.data[0]?.last_connected).toBe(data.last_connected);
    clock.advance(61);
    expect((await list(clinic.server, "?alive=1")).data.map((u) => u.id)).toEqual([p.anton.id]);
    clock.advance(240);
    expect((await list(clinic.server, "?alive=1")).total_count).toBe(0);
  });

  it("uses the clinic's default heartbeat and validates 60-3600", async () => {
    const clinic = await createClinic({ default_heartbeat: 120 });
    const user = await sso(clinic);
    const res = await call("POST", "/api_v3/users/alive", { headers: user.auth });
    expect((await json<{ data: { heartbeat: number } }>(res)).data.heartbeat).toBe(120);
    for (const heartbeat of ["59", "3601", "abc"]) {
      const bad = await call("POST", "/api_v3/users/alive", { headers: user.auth, form: { heartbeat } });
      expect(bad.status, heartbeat).toBe(400);
    }
    expect((await call("POST", "/api_v3/users/alive")).status).toBe(401);
  });
});

describe("GET /api_v3/users/:id", () => {
  it("returns the full profile with extra, clinics and rooms", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic, {
      first_name: "Anton",
      last_name: "Test",
      dob: "1980-01-01",
      email: "anton+test2@vseelab.com",
    });
    const room = await createRoom(clinic, "uat");
    await assign(clinic, user.id, room.code);
    const res = await call("GET", `/api_v3/users/${user.id}`, {
      headers: { "X-ApiToken": user.token, "X-AccountCode": clinic.code },
    });
    expect(res.status).toBe(200);
    const { data } = await json<{ data: Record<string, unknown> }>(res);
    expect(data).toMatchObject({
      id: user.id,
      user_id: user.id,
      code: user.code,
      full_name: "Anton Test",
      dob: "1980-01-01",
      email: "anton+test2@vseelab.com",
      active: true,
      status: 20,
      type: 200,
      extra: {},
      account_code: clinic.code,
      clinics: [clinic.code],
      rooms: [
        {
          id: room.id,
          code: room.code,
          slug: "uat",
          account_code: clinic.code,
          default: true,
          added_time: expect.any(Number),
          source: "api",
        },
      ],
    });
  });

  it("allows self, the API key, clinic admins and providers sharing a room; others 403; other clinics 404", async () => {
    const clinic = await createClinic();
    const p = await population(clinic);
    const admin = await clinicAdmin(clinic);
    const target = p.anton;
    for (const headers of [target.auth, clinic.server, admin.auth]) {
      expect((await call("GET", `/api_v3/users/${target.id}`, { headers })).status).toBe(200);
    }
    // BOLA: another member, a guest and a provider without a shared room are refused.
    for (const who of [p.bella, p.guest, p.drew]) {
      const res = await call("GET", `/api_v3/users/${target.id}`, { headers: who.auth });
      expect(res.status).toBe(403);
    }
    const room = await createRoom(clinic);
    await assign(clinic, p.drew.id, room.code);
    await assign(clinic, target.id, room.code);
    expect((await call("GET", `/api_v3/users/${target.id}`, { headers: p.drew.auth })).status).toBe(200);
    // Another clinic: 404 with its key or its users' tokens, whatever the id.
    const other = await createClinic();
    const stranger = await sso(other);
    expect((await call("GET", `/api_v3/users/${target.id}`, { headers: other.server })).status).toBe(404);
    expect(
      (await call("GET", `/api_v3/users/${target.id}`, { headers: { "X-ApiToken": stranger.token } })).status,
    ).toBe(404);
    expect((await call("GET", "/api_v3/users/abc", { headers: clinic.server })).status).toBe(400);
    expect((await call("GET", "/api_v3/users/999999999", { headers: clinic.server })).status).toBe(404);
  });
});

describe("GET /api_v3/users with long id lists", () => {
  it("handles more alive users and listed ids than D1's 100 bound parameters", async () => {
    const clinic = await createClinic();
    const { markAlive } = await import("../../src/kv/alive");
    const { env } = await import("../helpers");
    const clinicRow = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
      .bind(clinic.code)
      .first<{ id: number }>();
    const cid = clinicRow?.id as number;
    const values = Array.from(
      { length: 150 },
      (_, i) => `(${cid}, 'bulk-${i}', 200, 'bulk${i}', 'Bulk', 'User${i}', 0, 0)`,
    ).join(",");
    await env.DB.prepare(
      `INSERT INTO users (clinic_id, code, type, username, first_name, last_name, created_at, updated_at) VALUES ${values}`,
    ).run();
    const ids = (
      await env.DB.prepare("SELECT id FROM users WHERE clinic_id = ? ORDER BY id")
        .bind(cid)
        .all<{ id: number }>()
    ).results.map((r) => r.id);
    clock.freeze();
    for (const id of ids) await markAlive(env.KV, cid, id, 300);
    const alive = await list(clinic.server, "?alive=1&limit=100");
    expect(alive.total_count).toBe(150);
    const byId = await list(clinic.server, `?id=${ids.slice(0, 100).join(",")}&limit=100`);
    expect(byId.total_count).toBe(100);
  });
});
