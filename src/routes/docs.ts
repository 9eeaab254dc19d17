/**
 * The API reference at /docs, served entirely by this worker: no CDN, works offline. The page loads the
 * pinned @scalar/api-reference bundle (package.json pins the exact version; the file is a static asset,
 * wrangler.toml `[assets]`, outside the worker's bundle) with Subresource Integrity, then a small start
 * script of ours, both from this origin. Its Content-Security-Policy allows scripts from this origin only
 * (no inline script, no eval), requests, images and fonts to this origin only, and no framing, so no
 * third-party script can run next to the portal's HttpOnly session cookie (SECURITY.md, "The reference
 * page").
 */
import { Hono } from "hono";
import type { AppEnv } from "../types";

/** The pinned version (package.json) and the SHA-384 of its `dist/browser/standalone.js`. */
export const SCALAR_VERSION = "1.76.0";
export const SCALAR_INTEGRITY = "sha384-oH1C0RwqcwbVXkC+r8A+4qRoyEUQdtxAzOwumkxZtQBBcsy61FOoPt7B50OVJYYQ";

const SCALAR_PATH = `/docs/assets/scalar-${SCALAR_VERSION}.js`;
const START_PATH = "/docs/assets/start.js";

/** Configuration of the reference: the document of this origin, no fonts or services from elsewhere. */
const START_SCRIPT = `"use strict";
Scalar.createApiReference("#app", ${JSON.stringify({
  url: "/openapi.json",
  withDefaultFonts: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  documentDownloadType: "json",
})});
`;

/**
 * Scripts: this origin only. Styles: the bundle also sets inline styles (style attributes and <style>
 * elements of its components), which no nonce or hash can cover, so they are allowed inline; a style
 * cannot run code, and it cannot send anything out either: images, fonts and requests go to this origin
 * only.
 */
export const DOCS_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

function page(): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Clinic Edge API</title>
  </head>
  <body>
    <noscript>The reference needs JavaScript. The OpenAPI document: <a href="/openapi.json">/openapi.json</a></noscript>
    <div id="app"></div>
    <script src="${SCALAR_PATH}" integrity="${SCALAR_INTEGRITY}"></script>
    <script src="${START_PATH}"></script>
  </body>
</html>
`;
}

export const docs = new Hono<AppEnv>()
  .get("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_POLICY);
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    c.header("Referrer-Policy", "no-referrer");
    return c.html(page());
  })
  // The page's two scripts (one handler for the directory, like any static-file route).
  .get("/docs/assets/*", async (c) => {
    if (c.req.path === START_PATH) {
      c.header("Cache-Control", "no-cache");
      return c.body(START_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8" });
    }
    if (c.req.path !== SCALAR_PATH) return c.notFound();
    const asset = await c.env.ASSETS.fetch(new URL("/docs/scalar-standalone.js", c.req.url));
    if (!asset.ok) return c.notFound();
    // The versioned path never changes content: browsers and proxies may keep it.
    return new Response(asset.body, {
      headers: {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=31536000, immutable",
      },
    });
  });
