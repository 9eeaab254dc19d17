#!/usr/bin/env node
/**
 * The load generator, in its own process: runs one autocannon pass described by the JSON on its standard
 * input (a sign-out pool of a full run is too long for a command line) and prints its figures as JSON. `chain: "refresh"` gives each connection its own refresh token and
 * follows the rotation (every response carries the next token). `pool` (a list of per-request headers) spends
 * one entry per request, and the pass ends when the pool is spent (sign-out: one session per request).
 * `unique` replaces `{n}` in the body with a number no other request of the run sends (sign-up).
 */
import autocannon from "autocannon";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const spec = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const pool = [...(spec.tokens ?? [])];

let next = 0;
function setupClient(client) {
  if (spec.chain === "writers") {
    // Each connection is another writer: its own token and the field its group may write.
    const w = spec.writers[next++ % spec.writers.length];
    client.setHeadersAndBody({ ...spec.headers, authorization: `Bearer ${w.token}` }, w.body);
    return;
  }
  if (spec.chain !== "refresh") return;
  const first = pool.pop();
  if (!first) throw new Error("refresh chain: not enough tokens for the connections");
  client.setBody(JSON.stringify({ refresh_token: first }));
  client.on("body", (buf) => {
    try {
      const next = JSON.parse(buf.toString()).data?.refresh_token?.token;
      if (next) client.setBody(JSON.stringify({ refresh_token: next }));
    } catch {
      // a non-2xx answer: counted by autocannon, fails the run
    }
  });
}

const perRequest = [...(spec.pool ?? [])];
let serial = 0;
const requests =
  spec.pool || spec.unique
    ? [
        {
          setupRequest(req) {
            if (spec.pool) {
              const headers = perRequest.pop();
              // `amount` is the pool's size: autocannon sends no more requests than it holds.
              return { ...req, headers: { ...req.headers, ...(headers ?? {}) } };
            }
            return { ...req, body: spec.body.replaceAll("{n}", `${spec.unique}-${serial++}`) };
          },
        },
      ]
    : undefined;

const result = await autocannon({
  url: spec.url,
  method: spec.method ?? "GET",
  headers: spec.headers ?? {},
  body: spec.body,
  connections: spec.connections ?? 16,
  ...(spec.pool ? { amount: spec.pool.length } : { duration: spec.duration ?? 10 }),
  setupClient,
  ...(requests ? { requests } : {}),
});

process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    // Sent, answered or not: the server works on those still in flight when the pass ends too.
    sent: result.requests.sent,
    // A pooled pass ends with its pool, mid-second: requests over its length, not the per-second mean.
    rps: spec.pool ? result.requests.total / result.duration : result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    duration: result.duration,
  }),
);
