#!/usr/bin/env node
/**
 * `npm start`: serve Clinic Edge locally on http://localhost:8787 with the embedded D1/KV/Durable Object
 * (wrangler dev, state under .wrangler/). Creates .dev.vars from .dev.vars.example when missing, applies
 * the D1 migrations to the local database, seeds the demo clinic idempotently, prints how to call it,
 * then runs wrangler dev until you stop it.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const port = process.env.PORT ?? "8787";
const wrangler = join(root, "node_modules", ".bin", "wrangler");

const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  console.error(`Clinic Edge needs Node.js 22 or newer (this is ${process.version}).`);
  process.exit(1);
}

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("Created .dev.vars from .dev.vars.example (local secrets).");
}
const vars = Object.fromEntries(
  readFileSync(".dev.vars", "utf8")
    .split("\n")
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1).trim()]),
);

function run(args) {
  const res = spawnSync(wrangler, args, {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: { WRANGLER_SEND_METRICS: "false", ...process.env, CI: "1" },
  });
  if (res.status !== 0) {
    console.error(res.stdout, res.stderr);
    process.exit(res.status ?? 1);
  }
  return res.stdout;
}

console.log("Applying D1 migrations to the local database…");
run(["d1", "migrations", "apply", "DB", "--local"]);

const demoKey = vars.DEMO_API_KEY;
if (!demoKey) {
  console.error("DEMO_API_KEY is missing from .dev.vars");
  process.exit(1);
}
const keyHash = createHash("sha256").update(`clinic-api-key:${demoKey}`).digest("hex");
const now = Math.floor(Date.now() / 1000);
const code = process.env.DEFAULT_ACCOUNT_CODE ?? "vclinic";
// The demo clinic serves the seed's demo client: one shared care record behind /state (patient, physician
// and insurer see the same four fields) and patients registering themselves. New clinics default to
// per-patient records and no self-registration; switch with PATCH /admin/clinics/<code> (README).
const demoSettings = JSON.stringify({ careRecordMode: "shared", selfRegisterGroups: ["patients"] });
const sql = `
INSERT INTO clinics (code, name, domain, portal_base_url, sso_enabled, signup_mode, default_heartbeat, settings, api_key_hash, api_key_prefix, disabled, created_at, updated_at)
VALUES ('${code}', 'Demo Clinic', 'localhost', 'http://localhost:${port}/', 1, 'open', 300, '${demoSettings}', '${keyHash}', '${demoKey.slice(0, 8)}', 0, ${now}, ${now})
ON CONFLICT (code) DO UPDATE SET api_key_hash = excluded.api_key_hash, api_key_prefix = excluded.api_key_prefix, sso_enabled = 1;
INSERT INTO rooms (clinic_id, code, slug, name, domain, created_at, updated_at)
SELECT id, 'demo_room', 'uat', 'UAT', 'localhost', ${now}, ${now} FROM clinics WHERE code = '${code}'
ON CONFLICT DO NOTHING;`;
console.log(`Seeding the demo clinic '${code}'…`);
run(["d1", "execute", "DB", "--local", "--command", sql.replace(/\n/g, " ")]);

const base = `http://localhost:${port}`;
console.log(`
Clinic Edge is starting on ${base}

  API reference       ${base}/docs            (OpenAPI: ${base}/openapi.json)
  Admin API key       ADMIN_API_KEY in .dev.vars  (Authorization: Bearer …)
  Demo clinic         X-AccountCode: ${code}  (careRecordMode "shared": one care record behind /state; patients self-register)
  Demo clinic API key DEMO_API_KEY in .dev.vars  (X-ApiKey: …)
  Messages (codes)    curl -H "Authorization: Bearer $ADMIN_API_KEY" ${base}/admin/outbox

Try:
  curl -X POST ${base}/api_v3/users/sso.json -H "X-AccountCode: ${code}" -H "X-ApiKey: ${demoKey}" \\
       -F first_name=John -F last_name=Smith -F code=patient-1 -F type=200
`);

const child = spawn(
  wrangler,
  ["dev", "--port", port, "--ip", "127.0.0.1", "--show-interactive-dev-session=false"],
  {
    stdio: "inherit",
    // Offline-friendly: wrangler would otherwise fetch the `Request.cf` placeholder from workers.cloudflare.com
    // at every start and print a getaddrinfo ENOTFOUND stack when there is no network (harmless either way).
    env: {
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
      ...process.env,
    },
  },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
