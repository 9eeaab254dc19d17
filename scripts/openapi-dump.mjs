#!/usr/bin/env node
/**
 * Writes the app's OpenAPI document (what GET /openapi.json answers) to a file, default
 * `.openapi/openapi.json`, for the linter (`npm run lint:openapi`) and the typed-client check
 * (`npm run check:client`). The app is bundled for Node with esbuild and asked for the document
 * through its own fetch handler, so the file is exactly what the worker serves. The document needs no
 * binding, so the workerd-only pieces are stubbed: `cloudflare:workers` (the Durable Object's base
 * class) and the argon2 WebAssembly modules (instantiated lazily, never for this request).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = process.argv[2] ?? join(root, ".openapi", "openapi.json");
const bundle = join(root, ".openapi", "app.mjs");
mkdirSync(dirname(out), { recursive: true });
mkdirSync(dirname(bundle), { recursive: true });

await build({
  entryPoints: [join(root, "src", "app.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  outfile: bundle,
  logLevel: "warning",
  // CommonJS dependencies (qs) require Node built-ins at run time: give the ESM bundle a require.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  loader: { ".wasm": "empty", ".txt": "text" },
  plugins: [
    {
      name: "workerd-stubs",
      setup(b) {
        b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({
          path: "cloudflare:workers",
          namespace: "stub",
        }));
        b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
          contents:
            "export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }",
          loader: "js",
        }));
      },
    },
  ],
});

const { app } = await import(pathToFileURL(bundle).href);
// The document's `servers` entry is the request's origin: the local default of `npm start`.
const res = await app.request("http://localhost:8787/openapi.json");
if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
writeFileSync(out, `${JSON.stringify(await res.json(), null, 2)}\n`);
console.log(`OpenAPI document written to ${out}`);
