import { describe, expect, it } from "vitest";
import { call, createClinic, json } from "../helpers";
import { sso } from "./fixtures";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);

function upload(bytes: Uint8Array, name = "photo.png", type = "image/png") {
  const fd = new FormData();
  fd.append("file", new File([bytes], name, { type }));
  return fd;
}

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
