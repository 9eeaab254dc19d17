import { describe, expect, it } from "vitest";
import { call, createClinic, json } from "../helpers";
import { adminPatchUser, clinicAdmin, sso, uploadImage } from "./support";

type Room = {
  id: string;
  code: string;
  slug: string;
  name: string;
  domain: string;
  created: number;
  modified: number;
};

describe("rooms (seed 001, use case 2: a provider with a waiting room)", () => {
  it("SSO a provider, create a room, assign the provider, see it in the profile", async () => {
    const clinic = await createClinic();
    const provider = await sso(clinic, { first_name: "John", last_name: "Provider", type: "400" });
    const created = await call("POST", "/api_v3/rooms.json", {
      headers: clinic.server,
      multipart: { slug: "dr-provider", name: "Dr Provider" },
    });
    expect(created.status).toBe(200);
    const room = (await json<{ data: Room }>(created)).data;
    expect(room).toEqual({
      id: expect.stringMatching(/^\d+$/),
      code: expect.any(String),
      slug: "dr-provider",
      name: "Dr Provider",
      domain: `${clinic.code}.example.test`,
      created: expect.any(Number),
      modified: expect.any(Number),
    });
    const assigned = await call("POST", `/api_v3/users/${provider.id}/rooms`, {
      headers: clinic.server,
      form: { room_code: room.code },
    });
    expect(assigned.status).toBe(200);
    // Idempotent: assigning again changes nothing.
    const again = await call("POST", `/api_v3/users/${provider.id}/rooms`, {
      headers: clinic.server,
      json: { room_id: Number(room.id) },
    });
    expect((await json<{ total_count: number }>(again)).total_count).toBe(1);
    const profile = await json<{ data: { rooms: { code: string }[] } }>(
      await call("GET", `/api_v3/users/${provider.id}`, { headers: clinic.server }),
    );
    expect(profile.data.rooms.map((r) => r.code)).toEqual([room.code]);
    const providers = await json<{ data: { id: string }[]; total_count: number }>(
      await call("GET", `/api_v3/rooms/${room.code}/providers`, { headers: clinic.server }),
    );
    expect(providers.data.map((p) => p.id)).toEqual([provider.id]);
    expect((await call("GET", `/api_v3/rooms/${room.code}`, { headers: provider.auth })).status).toBe(200);
  });

  it("answers 400 with the seed's message for an existing slug, and for an existing code", async () => {
    const clinic = await createClinic();
    await call("POST", "/api_v3/rooms", {
      headers: clinic.server,
      form: { slug: "uat2", name: "UAT", code: "room-a" },
    });
    const dup = await call("POST", "/api_v3/rooms", {
      headers: clinic.server,
      form: { slug: "uat2", name: "Other" },
    });
    expect(dup.status).toBe(400);
    expect(await json(dup)).toEqual({
      code: 400,
      message: `In domain '${clinic.code}.example.test' slug 'uat2' already exists.`,
    });
    const dupCode = await call("POST", "/api_v3/rooms", {
      headers: clinic.server,
      form: { slug: "other", name: "Other", code: "room-a" },
    });
    expect(dupCode.status).toBe(400);
    // The same slug in another domain is another room.
    const otherDomain = await call("POST", "/api_v3/rooms", {
      headers: clinic.server,
      form: { slug: "uat2", name: "UAT", domain: "other.example.test" },
    });
    expect(otherDomain.status).toBe(200);
  });

  it("validates room input", async () => {
    const clinic = await createClinic();
    for (const form of [
      { name: "x" },
      { slug: "a b", name: "x" },
      { slug: "ok", name: "" },
      { slug: "ok", name: "x", owner: "1" },
    ] as Record<string, string>[]) {
      expect((await call("POST", "/api_v3/rooms", { headers: clinic.server, form })).status).toBe(400);
    }
    const assign = await call("POST", "/api_v3/users/1/rooms", { headers: clinic.server, form: {} });
    expect(assign.status).toBe(400);
  });

  it("lists rooms with paging: all for the key and admins, one's own for everybody else", async () => {
    const clinic = await createClinic();
    const member = await sso(clinic);
    const admin = await clinicAdmin(clinic);
    const codes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call("POST", "/api_v3/rooms", {
        headers: admin.auth,
        form: { slug: `r${i}`, name: `Room ${i}` },
      });
      expect(res.status).toBe(200);
      codes.push((await json<{ data: Room }>(res)).data.code);
    }
    const page = await json<{ data: Room[]; total_count: number }>(
      await call("GET", "/api_v3/rooms?page=2&limit=2", { headers: clinic.server }),
    );
    expect(page.total_count).toBe(3);
    expect(page.data.map((r) => r.slug)).toEqual(["r2"]);
    expect(
      (await json<{ total_count: number }>(await call("GET", "/api_v3/rooms", { headers: member.auth })))
        .total_count,
    ).toBe(0);
    await call("POST", `/api_v3/users/${member.id}/rooms`, {
      headers: clinic.server,
      form: { room_code: codes[1] as string },
    });
    const mine = await json<{ data: Room[] }>(await call("GET", "/api_v3/rooms", { headers: member.auth }));
    expect(mine.data.map((r) => r.code)).toEqual([codes[1]]);
  });

  it("members and providers cannot create rooms or assign users; non-members cannot read a room", async () => {
    const clinic = await createClinic();
    const member = await sso(clinic);
    const provider = await sso(clinic, { type: "400" });
    expect(
      (await call("POST", "/api_v3/rooms", { headers: member.auth, form: { slug: "x", name: "x" } })).status,
    ).toBe(403);
    expect(
      (await call("POST", "/api_v3/rooms", { headers: provider.auth, form: { slug: "x", name: "x" } }))
        .status,
    ).toBe(403);
    const room = await json<{ data: Room }>(
      await call("POST", "/api_v3/rooms", { headers: clinic.server, form: { slug: "x", name: "x" } }),
    );
    expect(
      (
        await call("POST", `/api_v3/users/${member.id}/rooms`, {
          headers: provider.auth,
          form: { room_code: room.data.code },
        })
      ).status,
    ).toBe(403);
    expect((await call("GET", `/api_v3/rooms/${room.data.code}`, { headers: member.auth })).status).toBe(403);
    expect(
      (await call("GET", `/api_v3/rooms/${room.data.code}/providers`, { headers: member.auth })).status,
    ).toBe(403);
    expect((await call("GET", "/api_v3/rooms/nope", { headers: clinic.server })).status).toBe(404);
  });

  it("keeps clinics apart: rooms, users and assignments of another clinic are 404", async () => {
    const a = await createClinic();
    const b = await createClinic();
    const room = await json<{ data: Room }>(
      await call("POST", "/api_v3/rooms", { headers: a.server, form: { slug: "a", name: "A" } }),
    );
    const userB = await sso(b);
    expect((await call("GET", `/api_v3/rooms/${room.data.code}`, { headers: b.server })).status).toBe(404);
    expect(
      (
        await call("POST", `/api_v3/users/${userB.id}/rooms`, {
          headers: a.server,
          form: { room_code: room.data.code },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call("POST", `/api_v3/users/${userB.id}/rooms`, {
          headers: b.server,
          form: { room_id: room.data.id },
        })
      ).status,
    ).toBe(404);
  });
});

describe("GET /rooms/:code/providers: what each caller sees (issue 16, finding 8)", () => {
  async function roomWithProviders() {
    const clinic = await createClinic();
    const room = (
      await json<{ data: Room }>(
        await call("POST", "/api_v3/rooms", { headers: clinic.server, form: { slug: "r", name: "R" } }),
      )
    ).data;
    const shown = await sso(clinic, {
      type: "400",
      first_name: "Ann",
      last_name: "Doc",
      email: "ann.doc@example.test",
      dob: "1970-01-02",
    });
    const file = await json<{ data: { id: string } }>(await uploadImage(shown));
    await call("POST", "/api_v3/me", { headers: shown.auth, form: { photo: file.data.id } });
    const hidden = await sso(clinic, { type: "400", first_name: "Hal", last_name: "Hidden" });
    await adminPatchUser(clinic, hidden.id, { is_hidden: true });
    const member = await sso(clinic);
    const guest = await sso(clinic, { type: "600" });
    for (const u of [shown, hidden, member, guest]) {
      await call("POST", `/api_v3/users/${u.id}/rooms`, {
        headers: clinic.server,
        form: { room_code: room.code },
      });
    }
    return { clinic, room, shown, hidden, member, guest };
  }

  type Listed = { data: Record<string, unknown>[]; total_count: number };

  it("members, guests and the room's providers get public fields of visible providers only", async () => {
    const { room, shown, hidden, member, guest } = await roomWithProviders();
    for (const who of [member, guest, shown, hidden]) {
      const res = await call("GET", `/api_v3/rooms/${room.code}/providers`, { headers: who.auth });
      expect(res.status).toBe(200);
      const body = await json<Listed>(res);
      expect(body.total_count).toBe(1);
      expect(body.data).toEqual([
        {
          id: shown.id,
          first_name: "Ann",
          last_name: "Doc",
          full_name: "Ann Doc",
          photo: expect.stringMatching(/\/api_v3\/files\/[\w-]+\?auth_code=[0-9a-f]{40}$/),
          subtype: "",
        },
      ]);
      const text = JSON.stringify(body);
      for (const secret of ["ann.doc@example.test", "1970-01-02", shown.code, shown.username, "Hidden"])
        expect(text).not.toContain(secret);
    }
  });

  it("the API key and clinic admins get the list fields of every provider, hidden ones included", async () => {
    const { clinic, room, shown, hidden } = await roomWithProviders();
    const admin = await clinicAdmin(clinic);
    for (const headers of [clinic.server, admin.auth]) {
      const body = await json<Listed>(await call("GET", `/api_v3/rooms/${room.code}/providers`, { headers }));
      expect(body.total_count).toBe(2);
      expect(body.data.map((p) => p.id)).toEqual([shown.id, hidden.id]);
      expect(body.data[0]).toMatchObject({
        code: shown.code,
        username: shown.username,
        email: "ann.doc@example.test",
        dob: "1970-01-02",
      });
      expect(body.data[0]).toHaveProperty("last_login");
    }
  });
});
