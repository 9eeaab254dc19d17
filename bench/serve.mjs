/**
 * What `npm run bench` (bench/run.mjs) and `npm run soak` (bench/soak.mjs) share: building the worker with
 * `wrangler deploy --dry-run`, and serving a build through wrangler's own miniflare with the project's
 * bindings (no `wrangler dev` proxy) on a fresh persisted state with the D1 migrations applied.
 */
import { execFileSync } from "node:child_process";
import { webcrypto } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const wranglerBin = join(root, "node_modules", ".bin", "wrangler");
const require = createRequire(import.meta.url);
export const wranglerRequire = createRequire(require.resolve("wrangler"));

/** `wrangler deploy [entry] --dry-run --outdir <outdir>`: the bundle wrangler would upload. */
export function build(entry, outdir, extra = []) {
  rmSync(outdir, { recursive: true, force: true });
  const argv = ["deploy", ...(entry ? [entry] : []), "--dry-run", "--outdir", outdir, ...extra];
  execFileSync(wranglerBin, argv, {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1" },
  });
}

/** A bundle's size (raw and gzip -9), source maps left out. */
export function bundleSize(dir) {
  let raw = 0;
  let gzip = 0;
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".map") || f === "README.md") continue;
    const bytes = readFileSync(join(dir, f));
    raw += bytes.byteLength;
    gzip += gzipSync(bytes, { level: 9 }).byteLength;
  }
  return { rawKiB: +(raw / 1024).toFixed(1), gzipKiB: +(gzip / 1024).toFixed(1) };
}

/** Throwaway secrets: the operators' key, the JWT secret, the MFA key and a fresh ES256 signing key. */
export async function benchSecrets() {
  const pair = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const signingKey = JSON.stringify({
    ...(await webcrypto.subtle.exportKey("jwk", pair.privateKey)),
    kid: "bench",
  });
  return {
    ADMIN_API_KEY: "bench-admin-key",
    JWT_SECRET: "bench-jwt-secret-0123456789abcdef0123456789",
    MFA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    SIGNING_KEY: signingKey,
  };
}

// The bundle's extra modules, typed as wrangler's default module rules type them.
const MODULE_TYPES = {
  ".wasm": "CompiledWasm",
  ".txt": "Text",
  ".html": "Text",
  ".sql": "Text",
  ".bin": "Data",
};

/** wrangler's own miniflare and its reader of wrangler.toml (what `serve` uses; the peer is served alike). */
export async function miniflareApi() {
  const { Miniflare, convertV4MiniflareOptions } = await import(
    pathToFileURL(wranglerRequire.resolve("miniflare")).href
  );
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  return { Miniflare, convertV4MiniflareOptions, getOptions: unstable_getMiniflareWorkerOptions };
}

/**
 * Serves the build in `dist` on 127.0.0.1 (a free port) with the project's bindings from wrangler.toml, the
 * given secrets and vars, state persisted under `state` (emptied first), and the rate limiters raised out of
 * the load generator's way (their cost stays in). Waits for `GET /health`, then applies the migrations.
 *
 * Requests enter the worker itself. Given `[assets]`, miniflare would put its emulation of the platform's
 * asset routing in front of every request: an RPC proxy worker and a router worker, two more JavaScript
 * workers in the same process, which roughly halve a bare route's req/s here. In production that routing
 * is Cloudflare's (with `run_worker_first` the worker is invoked first, and the router's CPU is not the
 * worker's), and the better-auth peer, which has no assets, never pays it. So the ASSETS binding is bound
 * to an assets-only worker beside ours (what `/docs` fetches still comes from `assets/`), and nothing sits
 * in front of the worker.
 */
export async function serve({ dist, state, name, secrets, vars = {}, inspector = false }) {
  const { Miniflare, convertV4MiniflareOptions } = await import(
    pathToFileURL(wranglerRequire.resolve("miniflare")).href
  );
  const { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } = await import("wrangler");
  rmSync(state, { recursive: true, force: true });
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
  const unlimited = (limiter) => ({
    ...workerOptions.ratelimits?.[limiter],
    simple: { limit: 1_000_000_000, period: 60 },
  });
  const started = performance.now();
  const { modulesRules: _rules, ...serveOptions } = workerOptions;
  const modules = [
    { type: "ESModule", path: join(dist, "worker.js") },
    ...readdirSync(dist).flatMap((f) => {
      const type = MODULE_TYPES[f.slice(f.lastIndexOf("."))];
      return type && f !== "README.md" ? [{ type, path: join(dist, f) }] : [];
    }),
  ];
  const { assets, ...userOptions } = serveOptions;
  const assetsName = `${name}-assets`;
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      resourcePersistencePath: state,
      logRequests: false,
      ...(inspector ? { inspectorPort: 0 } : {}),
      host: "127.0.0.1",
      port: 0,
      workers: [
        {
          ...userOptions,
          name,
          modules,
          modulesRoot: dist,
          bindings: { ...workerOptions.bindings, ...secrets, ...vars },
          serviceBindings: {
            ...userOptions.serviceBindings,
            ...(assets ? { [assets.binding]: assetsName } : {}),
          },
          ratelimits: {
            CREDENTIALS_LIMITER: unlimited("CREDENTIALS_LIMITER"),
            MESSAGES_LIMITER: unlimited("MESSAGES_LIMITER"),
            LOOKUP_LIMITER: unlimited("LOOKUP_LIMITER"),
          },
        },
        ...(assets
          ? [
              {
                name: assetsName,
                compatibilityDate: userOptions.compatibilityDate,
                modules: true,
                script: "export default { fetch: (request, env) => env.ASSETS.fetch(request) };",
                assets: { ...assets, binding: "ASSETS" },
              },
            ]
          : []),
      ],
    }),
  );
  const base = (await mf.ready).toString().replace(/\/$/, "");
  let health;
  do health = await fetch(`${base}/health`).catch(() => null);
  while (!health?.ok);
  const firstAnswerMs = Math.round(performance.now() - started);
  const db = await mf.getD1Database("DB");
  const kv = await mf.getKVNamespace("KV");
  const migrations = join(root, "migrations");
  for (const file of readdirSync(migrations)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const stmt of unstable_splitSqlQuery(readFileSync(join(migrations, file), "utf8"))) {
      if (stmt.trim()) await db.prepare(stmt).run();
    }
  }
  return { mf, base, db, kv, firstAnswerMs };
}

/** The workerd processes this process started (the server's CPU is read from their /proc times). */
export function workerdPids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmd.includes("workerd")) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid) pids.push(entry);
    } catch {}
  }
  return pids;
}

/** A DevTools protocol session with an isolate (workerd's inspector). */
export async function inspector(url) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot reach the inspector at ${url}`));
  });
  let next = 0;
  const pending = new Map();
  ws.onmessage = (e) => {
    const msg = JSON.parse(typeof e.data === "string" ? e.data : Buffer.from(e.data).toString("utf8"));
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    msg.error ? p.reject(new Error(msg.error.message)) : p.resolve(msg.result);
  };
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}
