/** The provider dashboard shows only alive patients of the provider's rooms (seed 000 POST /users/alive). */
import { afterEach, describe, expect, it } from "vitest";
import { call, clock, createClinic, json } from "../helpers";
import { adminPatchUser, assign, createRoom, type SsoUser } from "../vsee/support";
import { type Browser, signedIn } from "./support";

afterEach(() => clock.reset());

interface Dashboard {
  now: number;
  rooms: {
    code: string;
    name: string;
    patients: { id: string; name: string; last_connected: number; seen_seconds_ago: number }[];
  }[];
}

async function dashboard(provider: Browser): Promise<Dashboard> {
  const res = await provider.call("GET", "/providers/dashboard/rooms");
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  return json<Dashboard>(res);
}

const names = (d: Dashboard) => d.rooms.map((r) => [r.name, r.patients.map((p) => p.name)]);

function beat(user: SsoUser, heartbeat?: number) {
  return call("POST", "/api_v3/users/alive", {
    headers: user.auth,
    form: heartbeat ? { heartbeat: String(heartbeat) } : {},
  });
}

describe("GET /providers/dashboard/rooms", () => {
  it("lists the provider's rooms with only their alive patients, and drops a patient whose heartbeat lapsed", async () => {
    const clinic = await createClinic();
    const mine = await createRoom(clinic, "a-mine");
    const also = await createRoom(clinic, "b-also");
    const theirs = await createRoom(clinic, "c-theirs");
    const provider = await signedIn(clinic, { type: "400", first_name: "Dana" });
    await assign(clinic, provider.user.id, mine.code);
    await assign(clinic, provider.user.id, also.code);

    const person = async (first: string, type: string, rooms: string[]) => {
      const b = await signedIn(clinic, { type, first_name: first, last_name: "X" });
      for (const room of rooms) await assign(clinic, b.user.id, room);
      return b.user;
    };
    const ann = await person("Ann", "200", [mine.code]); // alive, short heartbeat
    const bob = await person("Bob", "600", [mine.code, also.code]); // a guest, alive, in both rooms
    const cal = await person("Cal", "200", [mine.code]); // never alive
    const dee = await person("Dee", "200", [theirs.code]); // alive, in another provider's room
    const doc = await person("Doc", "400", [mine.code]); // alive, but a provider
    // An alive patient of another clinic, in that clinic's room of the same code.
    const other = await createClinic();
    const outsider = await signedIn(other, { type: "200", first_name: "Out" });
    const twin = await call("POST", "/api_v3/rooms", {
      headers: other.server,
      form: { slug: "a-mine", name: "Room a-mine", code: mine.code },
    });
    expect(twin.status).toBe(200);
    await assign(other, outsider.user.id, mine.code);

    clock.freeze();
    const t0 = Math.floor(clock.t / 1000);
    expect((await beat(ann, 60)).status).toBe(200);
    for (const u of [bob, dee, doc, outsider.user]) expect((await beat(u)).status).toBe(200);
    expect(cal.id).toBeTruthy();

    const first = await dashboard(provider);
    expect(first.now).toBe(t0);
    expect(names(first)).toEqual([
      [`Room a-mine`, ["Ann X", "Bob X"]],
      [`Room b-also`, ["Bob X"]],
    ]);
    expect(first.rooms[0]?.patients[0]).toEqual({
      id: ann.id,
      name: "Ann X",
      last_connected: t0,
      seen_seconds_ago: 0,
    });

    clock.advance(45);
    expect((await dashboard(provider)).rooms[0]?.patients.map((p) => p.seen_seconds_ago)).toEqual([45, 45]);
    clock.advance(16); // Ann's 60 s heartbeat has lapsed; Bob's 300 s has not
    expect(names(await dashboard(provider))).toEqual([
      [`Room a-mine`, ["Bob X"]],
      [`Room b-also`, ["Bob X"]],
    ]);
    clock.advance(240); // 301 s: everyone's heartbeat has lapsed
    expect(names(await dashboard(provider))).toEqual([
      [`Room a-mine`, []],
      [`Room b-also`, []],
    ]);
  });

  it("leaves out disabled patients, and shows a provider without rooms an empty list", async () => {
    const clinic = await createClinic();
    const room = await createRoom(clinic);
    const provider = await signedIn(clinic, { type: "400" });
    const roomless = await signedIn(clinic, { type: "400" });
    await assign(clinic, provider.user.id, room.code);
    const patient = await signedIn(clinic, { type: "200" });
    await assign(clinic, patient.user.id, room.code);
    await beat(patient.user);
    expect((await dashboard(provider)).rooms[0]?.patients).toHaveLength(1);
    await adminPatchUser(clinic, patient.user.id, { disabled: true });
    expect((await dashboard(provider)).rooms[0]?.patients).toHaveLength(0);
    expect((await dashboard(roomless)).rooms).toEqual([]);
    expect(await (await roomless.call("GET", "/providers/dashboard")).text()).toContain(
      '<p id="no-rooms">You are not assigned to a waiting room yet.</p>',
    );
  });

  it("answers JSON errors: 401 without a session, 403 for a patient", async () => {
    const clinic = await createClinic();
    const patient = await signedIn(clinic, { type: "200" });
    const res = await patient.call("GET", "/providers/dashboard/rooms");
    expect(res.status).toBe(403);
    expect(await json(res)).toEqual({
      code: 403,
      error: "forbidden",
      message: "Only providers may read this",
    });
    expect((await call("GET", "/providers/dashboard/rooms")).status).toBe(401);
  });
});

describe("GET /providers/dashboard", () => {
  it("renders the rooms and alive patients on the server, escaped, in a live region the script updates", async () => {
    const clinic = await createClinic();
    const room = await createRoom(clinic);
    const provider = await signedIn(clinic, { type: "400", first_name: "Dana", last_name: "Doctor" });
    await assign(clinic, provider.user.id, room.code);
    const patient = await signedIn(clinic, {
      type: "200",
      first_name: "<img src=x onerror=alert(1)>",
      last_name: "Z",
    });
    await assign(clinic, patient.user.id, room.code);
    clock.freeze();
    await beat(patient.user);
    clock.advance(75);
    const res = await provider.call("GET", "/providers/dashboard");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Signed in as Dana Doctor");
    expect(html).toContain('<div id="rooms" aria-live="polite" aria-relevant="additions removals">');
    expect(html).toContain(`<h2 id="room-0">Room ${room.slug}</h2>`);
    expect(html).toContain(
      `<li data-user="${patient.user.id}"><a class="name" href="/providers/patients/${patient.user.id}">&lt;img src=x onerror=alert(1)&gt; Z</a><span class="seen muted">last seen 1 min ago</span></li>`,
    );
    expect(html).not.toContain("<img src=x");
    expect(html).toContain('<script src="/portal/assets/dashboard.js" defer=""></script>');
  });
});

describe("GET /u/clinic", () => {
  it("shows the patient's room, a pending check-in its script completes, and the heartbeat to keep", async () => {
    const clinic = await createClinic({ default_heartbeat: 120 });
    const room = await createRoom(clinic);
    const patient = await signedIn(clinic, { type: "200" });
    await assign(clinic, patient.user.id, room.code);
    const html = await (await patient.call("GET", "/u/clinic")).text();
    expect(html).toContain(`You are waiting in <strong id="room-name">Room ${room.slug}</strong>`);
    expect(html).toContain(
      '<div id="checkin" class="checkin" role="status" data-state="pending" data-rooms="1" data-heartbeat="120">Checking you in…</div>',
    );
    expect(html).toContain('<script src="/portal/assets/clinic.js" defer=""></script>');
    expect(html).toMatch(/<meta name="csrf-token" content="[\w-]{43}"\/>/);
    expect(html).toContain("Your provider sees you as waiting while this page is open.");
    // No room: the page never says "checked in… your provider sees you as waiting".
    const roomless = await signedIn(clinic, { type: "600" });
    const alone = await (await roomless.call("GET", "/u/clinic")).text();
    expect(alone).toContain("You are not in a waiting room yet");
    expect(alone).toContain('data-rooms="0"');
    expect(alone).toContain(">Connecting…</div>");
    expect(alone).not.toContain("Your provider sees you as waiting while this page is open.");
    expect(alone).not.toContain("Checking you in");
  });
});
