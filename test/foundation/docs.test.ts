/**
 * GET /docs: the API reference works offline and runs no third-party script. The page loads the pinned
 * reference bundle and its start script from this worker only (SRI on the bundle), under a
 * Content-Security-Policy that allows scripts from this origin only, no inline script and requests to
 * this origin only (security finding #16: a script on /docs shares the portal's origin).
 */
import { describe, expect, it } from "vitest";
import pkg from "../../package.json";
import { SCALAR_INTEGRITY, SCALAR_VERSION } from "../../src/routes/docs";
import { call } from "../helpers";

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp.split(";").map((d) => {
      const [name = "", ...values] = d.trim().split(/\s+/);
      return [name, values];
    }),
  );
}

async function sha384(body: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", body));
  return `sha384-${btoa(String.fromCharCode(...digest))}`;
}

describe("GET /docs", () => {
  it("loads only scripts of this origin: no CDN, no inline script", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(2);
    for (const [, attributes, inline] of scripts) {
      expect(inline?.trim(), "inline script").toBe("");
      expect(attributes).toMatch(/src="\/docs\/assets\/[^"]+"/);
    }
    expect(html).toContain(`src="/docs/assets/scalar-${SCALAR_VERSION}.js" integrity="${SCALAR_INTEGRITY}"`);
  });

  it("has a strict Content-Security-Policy (scripts and requests: this origin only; no framing)", async () => {
    const res = await call("GET", "/docs");
    const csp = directives(res.headers.get("content-security-policy") ?? "");
    expect(csp.get("default-src")).toEqual(["'none'"]);
    expect(csp.get("script-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'"]);
    expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    // Styles: this origin and inline (the bundle's components set style attributes); never scripts.
    expect(csp.get("style-src")).toEqual(["'self'", "'unsafe-inline'"]);
    for (const [name, values] of csp) {
      if (name !== "style-src") expect(values, name).not.toContain("'unsafe-inline'");
      expect(values, name).not.toContain("'unsafe-eval'");
      expect(
        values.some((v) => /^https?:|^\*$/.test(v)),
        name,
      ).toBe(false);
    }
  });

  it("serves the pinned reference bundle itself, matching the page's integrity hash", async () => {
    expect(pkg.dependencies["@scalar/api-reference"]).toBe(SCALAR_VERSION);
    const res = await call("GET", `/docs/assets/scalar-${SCALAR_VERSION}.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/javascript");
    expect(res.headers.get("cache-control")).toContain("immutable");
    const body = await res.arrayBuffer();
    expect(body.byteLength).toBeGreaterThan(100_000);
    expect(await sha384(body)).toBe(SCALAR_INTEGRITY);
  });

  it("starts the reference on this origin's document, with no fonts from elsewhere", async () => {
    const res = await call("GET", "/docs/assets/start.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/javascript");
    const js = await res.text();
    expect(js).toContain('"url":"/openapi.json"');
    expect(js).toContain('"withDefaultFonts":false');
    expect(js).not.toMatch(/https?:\/\//);
  });

  it("answers 404 for other files under /docs/assets", async () => {
    for (const path of ["/docs/assets/scalar-0.0.1.js", "/docs/assets/../wrangler.toml", "/docs/assets/x"]) {
      const res = await call("GET", path);
      expect(res.status, path).toBe(404);
    }
  });
});
