import { describe, expect, it } from "vitest";
import { fromEntries } from "../../src/lib/body";
import { ADMIN_AUTH, call, json, uniq } from "../helpers";

describe("one body reader for JSON, urlencoded and multipart", () => {
  it("gives the same result for the same request in all three encodings", async () => {
    const results = [];
    for (const encoding of ["json", "form", "multipart"] as const) {
      const code = uniq("c");
      const fields = { code, name: "Same", domain: "same.test", sso_enabled: "1", default_heartbeat: "120" };
      const body =
        encoding === "json"
          ? { json: { ...fields, sso_enabled: true, default_heartbeat: 120 } }
          : encoding === "form"
            ? { form: fields }
            : { multipart: fields };
      const res = await call("POST", "/admin/clinics", { headers: ADMIN_AUTH, ...body });
      expect(res.status, encoding).toBe(201);
      const { clinic } = await json<{ clinic: Record<string, unknown> }>(res);
      results.push({
        ...clinic,
        code: undefined,
        created: undefined,
        modified: undefined,
        api_key_prefix: undefined,
      });
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("reads bracket notation: arrays and nested objects", () => {
    expect(fromEntries(new URLSearchParams("a[]=1&a[]=2&b=x&c[d]=y&c[e][]=z&f=1&f=2"))).toEqual({
      a: ["1", "2"],
      b: "x",
      c: { d: "y", e: ["z"] },
      f: ["1", "2"],
    });
  });

  it("keeps prototype-polluting keys as plain data (and strict schemas refuse them)", async () => {
    const parsed = fromEntries(new URLSearchParams("__proto__[admin]=1&constructor[prototype][x]=1"));
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(Object.keys(parsed).sort()).toEqual(["__proto__", "constructor"]);
    const res = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      raw: { body: "code=abc&name=x&domain=y&__proto__[admin]=1", type: "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(400);
    expect((await json<{ errors: { param: string }[] }>(res)).errors.map((e) => e.param)).toContain(
      "__proto__",
    );
  });

  it("answers malformed JSON with 400, never 500", async () => {
    for (const body of ["{", '{"a":', "[1,2]", "null", '"str"', "\u0000", '{"a":1}}']) {
      const res = await call("POST", "/admin/clinics", {
        headers: ADMIN_AUTH,
        raw: { body, type: "application/json" },
      });
      expect(res.status, body).toBe(400);
    }
  });

  it("refuses bodies over the cap with 413 before parsing, with or without Content-Length", async () => {
    const big = `{"name":"${"x".repeat(65 * 1024)}"}`;
    const declared = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      raw: { body: big, type: "application/json" },
    });
    expect(declared.status).toBe(413);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 80; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
        controller.close();
      },
    });
    const chunked = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      raw: { body: stream, type: "application/json" },
    });
    expect(chunked.status).toBe(413);
  });

  it("refuses other content types with 415 and file uploads with 400", async () => {
    const res = await call("POST", "/admin/clinics", {
      headers: ADMIN_AUTH,
      raw: { body: "code=x", type: "text/plain" },
    });
    expect(res.status).toBe(415);
    const fd = new FormData();
    fd.append("code", "abc");
    fd.append("name", new File(["hello"], "hello.txt"));
    const upload = await call("POST", "/admin/clinics", { headers: ADMIN_AUTH, raw: { body: fd } });
    expect(upload.status).toBe(400);
  });
});
