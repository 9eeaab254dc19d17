import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call, clock, createClinic, env, json } from "../helpers";
import { PNG, type SsoUser, sso, imageForm as upload } from "./support";

describe("POST /api_v3/files and photos", () => {
  it("uploads an image, sets it as the photo, and serves it by its URL", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const res = await call("POST", "/api_v3/files.json", { headers: user.auth, raw: { body: upload(PNG) } });
    expect(res.status).toBe(200);
    const { data } = await json<{ data: { id: string; url: string; type: string; size: number } }>(res);
    expect(data).toMatchObject({ type: "image/png", size: PNG.byteLength });
    const set = await call("POST", "/api_v3/me", { headers: user.auth, form: { photo: data.id } });
    expect(set.status).toBe(200);
    const photo = (await json<{ data: { photo: string } }>(set)).data.photo;
    expect(photo).toMatch(new RegExp(`/api_v3/files/${data.id}\\?auth_code=[0-9a-f]{40}$`));
    const served = await call("GET", new URL(photo).pathname + new URL(photo).search);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG);
    // Clearing with "".
    const cleared = await call("POST", "/api_v3/me", { headers: user.auth, form: { photo: "" } });
    expect((await json<{ data: { photo: null } }>(cleared)).data.photo).toBeNull();
  });

  it("refuses non-images (SVG included), oversize files and missing files", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    );
    const bad = await call("POST", "/api_v3/files", {
      headers: user.auth,
      raw: { body: upload(svg, "x.png", "image/png") },
    });
    expect(bad.status).toBe(400);
    const big = new Uint8Array(1024 * 1024 + 1);
    big.set(PNG);
    expect(
      (await call("POST", "/api_v3/files", { headers: user.auth, raw: { body: upload(big) } })).status,
    ).toBe(413);
    const none = new FormData();
    none.append("name", "x");
    expect((await call("POST", "/api_v3/files", { headers: user.auth, raw: { body: none } })).status).toBe(
      400,
    );
    expect(
      (await call("POST", "/api_v3/files", { headers: user.auth, raw: { body: "x", type: "text/plain" } }))
        .status,
    ).toBe(415);
    expect((await call("POST", "/api_v3/files", { raw: { body: upload(PNG) } })).status).toBe(401);
  });

  it("never lets a user take another user's file as photo, and needs the right auth_code to read", async () => {
    const clinic = await createClinic();
    const owner = await sso(clinic);
    const other = await sso(clinic);
    const { data } = await json<{ data: { id: string; url: string } }>(
      await call("POST", "/api_v3/files", { headers: owner.auth, raw: { body: upload(PNG) } }),
    );
    expect((await call("POST", "/api_v3/me", { headers: other.auth, form: { photo: data.id } })).status).toBe(
      400,
    );
    const otherClinic = await createClinic();
    const stranger = await sso(otherClinic);
    expect(
      (await call("POST", "/api_v3/me", { headers: stranger.auth, form: { photo: data.id } })).status,
    ).toBe(400);
    const url = new URL(data.url);
    expect((await call("GET", url.pathname + url.search)).status).toBe(200);
    expect((await call("GET", `${url.pathname}?auth_code=${"0".repeat(40)}`)).status).toBe(404);
    expect((await call("GET", url.pathname)).status).toBe(400);
  });
});

describe("upload quota, rate limit and expiry (issue 16, finding 14)", () => {
  afterEach(() => clock.reset());

  const MiB = 1024 * 1024;
  /** A PNG-signed file of `size` bytes. */
  const image = (size: number) => {
    const bytes = new Uint8Array(size);
    bytes.set(PNG);
    return bytes;
  };
  const send = (user: SsoUser, bytes: Uint8Array) =>
    call("POST", "/api_v3/files", { headers: user.auth, raw: { body: upload(bytes) } });
  async function stored(user: SsoUser, bytes = PNG) {
    const res = await send(user, bytes);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await json<{ data: { id: string; url: string } }>(res)).data;
  }
  const served = async (url: string) =>
    (await call("GET", new URL(url).pathname + new URL(url).search)).status;
  const rows = async (id: string) =>
    (await env.DB.prepare("SELECT COUNT(*) AS n FROM files WHERE id = ?").bind(id).first<{ n: number }>())?.n;
  async function runCron() {
    const ctx = createExecutionContext();
    await worker.scheduled?.(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
  }

  it("the attack: 20 x 1 MiB from one guest keeps at most 5 MiB (403 beyond), other users unaffected", async () => {
    const clinic = await createClinic();
    const guest = await sso(clinic, { type: "600" });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await send(guest, image(MiB))).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual(Array(15).fill(403));
    const kept = await env.DB.prepare(
      "SELECT COUNT(*) AS n, SUM(size) AS bytes FROM files WHERE owner_id = ?",
    )
      .bind(Number(guest.id))
      .first<{ n: number; bytes: number }>();
    expect(kept).toEqual({ n: 5, bytes: 5 * MiB });
    const other = await sso(clinic, { type: "600" });
    expect((await send(other, image(MiB))).status).toBe(200);
  });

  it("refuses the upload over the quota with 403 in the VSee shape, and stores nothing", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    for (let i = 0; i < 4; i++) await stored(user, image(MiB));
    await stored(user, image(MiB - 100));
    const over = await send(user, image(101));
    expect(over.status).toBe(403);
    expect(await json(over)).toEqual({
      code: 403,
      message:
        "Upload quota reached: a user keeps at most 5 MiB of files, and uploads not used as a photo are deleted after 24 hours",
    });
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM files WHERE owner_id = ?")
      .bind(Number(user.id))
      .first<{ n: number }>();
    expect(count?.n).toBe(5);
    // Exactly up to the quota is fine.
    expect((await send(user, image(100))).status).toBe(200);
  });

  it("allows 10 uploads an hour per user, then 429 until the hour has passed", async () => {
    clock.freeze();
    const clinic = await createClinic();
    const user = await sso(clinic);
    for (let i = 0; i < 10; i++) await stored(user);
    const refused = await send(user, PNG);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("3600");
    expect(await json(refused)).toEqual({
      code: 429,
      message: "Too many uploads: at most 10 an hour per user",
    });
    clock.advance(3000);
    expect((await send(user, PNG)).status).toBe(429);
    clock.advance(601);
    expect((await send(user, PNG)).status).toBe(200);
  });

  it("parallel uploads cannot overshoot the hourly rate", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const results = await Promise.all(Array.from({ length: 15 }, () => send(user, PNG)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(5);
  });

  it("the cron sweep deletes files that are nobody's photo after 24 hours; photos stay", async () => {
    clock.freeze();
    const clinic = await createClinic();
    const user = await sso(clinic);
    const photo = await stored(user);
    const unused = await stored(user);
    expect((await call("POST", "/api_v3/me", { headers: user.auth, form: { photo: photo.id } })).status).toBe(
      200,
    );
    clock.advance(23 * 3600);
    await runCron();
    expect(await served(unused.url)).toBe(200);
    expect(await rows(unused.id)).toBe(1);
    clock.advance(3600);
    await runCron();
    expect(await served(unused.url)).toBe(404);
    expect(await rows(unused.id)).toBe(0);
    expect(await served(photo.url)).toBe(200);
    // A swept file can no longer be taken as photo (signed in again: a day has passed).
    const again = await sso(clinic, { code: user.code });
    const late = await call("POST", "/api_v3/me", { headers: again.auth, form: { photo: unused.id } });
    expect(late.status).toBe(400);

    // A replaced photo is nobody's photo any more: it goes at the next sweep (it is older than a day);
    // the new photo stays, and so does a fresh upload.
    const next = await stored(again);
    const fresh = await stored(again);
    await call("POST", "/api_v3/me", { headers: again.auth, form: { photo: next.id } });
    await runCron();
    expect(await served(photo.url)).toBe(404);
    expect(await served(next.url)).toBe(200);
    expect(await served(fresh.url)).toBe(200);
    // Swept files no longer count against the quota.
    const left = await env.DB.prepare("SELECT id FROM files WHERE owner_id = ? ORDER BY id")
      .bind(Number(user.id))
      .all<{ id: string }>();
    expect(left.results.map((r) => r.id).sort()).toEqual([next.id, fresh.id].sort());
  });
});
