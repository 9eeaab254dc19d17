/**
 * The browser tests' server: `wrangler dev` on a free localhost port with a fresh local state folder
 * (D1 migrated, KV and Durable Object empty), throwaway secrets from a temporary env file, and
 * ALLOW_TEST_CLOCK=1 so that the tests can move time (src/lib/test-clock.ts). Started and stopped by PID
 * (its own process group, so workerd goes with it).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes, webcrypto } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");

export interface Server {
  baseUrl: string;
  adminKey: string;
  /** The API key of the demo clinic (the default clinic, DEFAULT_ACCOUNT_CODE). */
  demoKey: string;
  pid: number;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (never 8787: the default port is left to people). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
      );
    });
  });
}

async function signingKey(): Promise<string> {
  const pair = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const jwk = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
  return JSON.stringify({ ...jwk, kid: "browser-tests" });
}

function run(args: string[], env: NodeJS.ProcessEnv): void {
  const res = spawnSync(wrangler, args, { cwd: root, env, encoding: "utf8" });
  if (res.status !== 0)
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed:\n${res.stdout}\n${res.stderr}`);
}

export async function startServer(): Promise<Server> {
  const work = mkdtempSync(join(tmpdir(), "clinic-edge-browser-"));
  const state = join(work, "state");
  const adminKey = randomBytes(24).toString("hex");
  const envFile = join(work, "secrets.env");
  writeFileSync(
    envFile,
    [
      `ADMIN_API_KEY=${adminKey}`,
      `JWT_SECRET=${randomBytes(32).toString("hex")}`,
      `MFA_ENCRYPTION_KEY=${randomBytes(32).toString("base64")}`,
      `SIGNING_KEY=${await signingKey()}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  // Offline: no metrics, and no fetch of the Request.cf placeholder from workers.cloudflare.com (README "Quick start").
  const env = {
    ...process.env,
    CI: "1",
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    NO_COLOR: "1",
  };
  run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], env);

  const [port, inspectorPort] = [await freePort(), await freePort()];
  const log = join(work, "wrangler.log");
  const out = createWriteStream(log);
  const child: ChildProcess = spawn(
    wrangler,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      state,
      "--env-file",
      envFile,
      "--var",
      "ALLOW_TEST_CLOCK:1",
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error("wrangler dev did not start");
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  // Should this process end without teardown (an interrupted run), take wrangler down with it.
  const orphanGuard = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  };
  process.once("exit", orphanGuard);

  const stop = async () => {
    process.off("exit", orphanGuard);
    try {
      process.kill(-pid, "SIGTERM"); // the process group we started: wrangler and its workerd
    } catch {
      return; // already gone
    }
    const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!killed) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
    }
    out.end();
    rmSync(work, { recursive: true, force: true });
  };

  const baseUrl = `http://localhost:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {}
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  if (child.exitCode === null && Date.now() <= deadline) {
    try {
      return { baseUrl, adminKey, demoKey: await seedDemoClinic(baseUrl, adminKey), pid, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  }
  const output = readFileSync(log, "utf8");
  await stop();
  throw new Error(`wrangler dev did not become ready on ${baseUrl}:\n${output}`);
}

/** The default clinic of wrangler.toml's vars, which clients that send no X-AccountCode talk to. */
export const DEMO_CLINIC = "vclinic";

/**
 * The demo clinic, as `npm start` seeds it (scripts/start.mjs): the deployment's default clinic, in
 * `"shared"` mode (one care record behind /state) with patients registering themselves, so that the seed's
 * demo client works unchanged. Created through the admin API; returns its API key.
 */
async function seedDemoClinic(baseUrl: string, adminKey: string): Promise<string> {
  const res = await fetch(`${baseUrl}/admin/clinics`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      code: DEMO_CLINIC,
      name: "Demo Clinic",
      domain: "localhost",
      sso_enabled: true,
      settings: { careRecordMode: "shared", selfRegisterGroups: ["patients"] },
    }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`seeding the demo clinic: ${res.status} ${text}`);
  return (JSON.parse(text) as { api_key: string }).api_key;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
