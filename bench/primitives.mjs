#!/usr/bin/env node
/**
 * What one look-up costs in each place a session check could live, in this runtime (wrangler's miniflare),
 * beside better-auth's cookie-cache `get-session` (no storage read): the figures behind the choice of one KV
 * read for the authenticated reads (docs/storage.md "Designs measured"). A bare worker of its own, no app:
 *
 *   text    nothing (the runtime's floor)
 *   hmac    an HMAC-SHA256 check of a 120-byte record, then JSON.parse: a signed cookie, no storage
 *   kv      one KV get of that record (what the own-profile reads do)
 *   cache   one Cache API match (per location; what a revocation list there would cost)
 *   do      one RPC to a per-user Durable Object that keeps the record in memory
 *   do-sql  the same RPC, the object reading its own storage (its in-memory cache after the first read)
 *
 * Usage: npm run bench:primitives  (BENCH_SECONDS=N pass length, default 5; 3 interleaved repetitions,
 * medians). Installs the better-auth peer on first use, as `npm run bench -- --peers` does.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startPeer } from "./peers.mjs";
import { miniflareApi, root, wranglerBin } from "./serve.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const work = join(root, "bench", ".work", "primitives");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const script = `
import { DurableObject } from "cloudflare:workers";
const record = JSON.stringify({ u: 1, c: 1, s: "0123456789abcdef0123456789abcdef", t: 200,
  p: { first_name: "Ana", last_name: "Lee", email: "ana@example.test", phone: "", gender: 1 }, pt: 1 });
const bytes = new TextEncoder().encode(record);
let key;
const hmacKey = () => (key ??= crypto.subtle.importKey("raw", new TextEncoder().encode("a secret of 32 bytes, or more..."),
  { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));
let signature;
export class Sessions extends DurableObject {
  map = new Map();
  async mem(k) { return this.map.get(k) ?? null; }
  async stored(k) { return (await this.ctx.storage.get(k)) ?? null; }
  async put(k, v) { this.map.set(k, v); await this.ctx.storage.put(k, v); }
}
const session = (env) => env.SESSIONS.get(env.SESSIONS.idFromName("user-1"));
const found = (text) => Response.json({ ok: text !== null && JSON.parse(text) !== null });
export default {
  async fetch(req, env) {
    switch (new URL(req.url).pathname) {
      case "/seed":
        await env.KV.put("at:x", record);
        await session(env).put("at:x", record);
        await caches.default.put("https://cache.test/at/x", new Response(record, { headers: { "cache-control": "max-age=3600" } }));
        signature = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(), bytes));
        return new Response(null, { status: 204 });
      case "/text": return new Response("ok");
      case "/hmac": {
        const ok = await crypto.subtle.verify("HMAC", await hmacKey(), signature, bytes);
        return found(ok ? record : null);
      }
      case "/kv": return found(await env.KV.get("at:x"));
      case "/cache": { const hit = await caches.default.match("https://cache.test/at/x"); return found(hit ? await hit.text() : null); }
      case "/do": return found(await session(env).mem("at:x"));
      case "/do-sql": return found(await session(env).stored("at:x"));
    }
    return new Response("no such route", { status: 404 });
  },
};`;

const { Miniflare, convertV4MiniflareOptions, getOptions } = await miniflareApi();
const mf = new Miniflare(
  convertV4MiniflareOptions({
    name: "primitives",
    modules: true,
    script,
    compatibilityDate: "2026-11-01",
    kvNamespaces: ["KV"],
    durableObjects: { SESSIONS: { className: "Sessions", useSQLite: true } },
    resourcePersistencePath: join(work, "state"),
    host: "127.0.0.1",
    port: 0,
  }),
);
const base = (await mf.ready).toString().replace(/\/$/, "");
const seeded = await fetch(`${base}/seed`);
if (seeded.status !== 204) throw new Error(`seed: ${seeded.status} ${await seeded.text()}`);
const peer = await startPeer({
  Miniflare,
  convertV4MiniflareOptions,
  getOptions,
  wranglerBin,
  work,
  users: 100,
  log: (m) => console.error(`[primitives] ${m}`),
});

const cache = peer.request("get-session", "cache");
const specs = {
  ...Object.fromEntries(
    ["text", "hmac", "kv", "cache", "do", "do-sql"].map((n) => [n, { url: `${base}/${n}` }]),
  ),
  "better-auth cookie cache": { url: peer.base + cache.path, headers: cache.headers },
};
for (const [name, spec] of Object.entries(specs)) {
  const res = await fetch(spec.url, { headers: spec.headers });
  if (!res.ok) throw new Error(`${name}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}
const runs = Object.fromEntries(Object.keys(specs).map((n) => [n, []]));
const names = Object.keys(specs);
for (let rep = 0; rep < 3; rep++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + rep) % names.length];
    const out = execFileSync(process.execPath, [join(root, "bench", "load.mjs")], {
      input: JSON.stringify({ ...specs[name], duration: SECONDS }),
    });
    const r = JSON.parse(out);
    if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    runs[name].push(r.rps);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const text = median(runs.text);
const peerCache = median(runs["better-auth cookie cache"]);
console.log(`one look-up, ${SECONDS} s passes × 3 interleaved, 16 connections (medians)\n`);
console.log(`${"".padEnd(26)}${"req/s".padStart(8)}${"× text".padStart(9)}${"× cookie cache".padStart(16)}`);
for (const name of names) {
  const rps = median(runs[name]);
  console.log(
    `${name.padEnd(26)}${rps.toFixed(0).padStart(8)}${(rps / text).toFixed(2).padStart(9)}${(rps / peerCache).toFixed(2).padStart(16)}`,
  );
}
await mf.dispose();
await peer.mf.dispose();
rmSync(work, { recursive: true, force: true });
