#!/usr/bin/env node
/**
 * Writes the README's benchmark tables from a results file: the latest full run (every scenario beside its
 * floor) and, when the run measured better-auth, the matched scenarios beside it. The tables sit between
 * `<!-- bench:latest -->` and `<!-- bench:peers -->` markers and their closing `<!-- /bench:… -->`, so that
 * the README always shows what the committed results say. Run by every full `npm run bench`; by hand:
 * `node bench/tables.mjs [results.json] [README.md]`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const trips = (t, withDo = true) =>
  `${t.kv ?? 0} KV + ${t.d1 ?? 0} D1${withDo ? ` + ${t.do ?? 0} DO` : ""}${t.rl ? ` + ${t.rl} RL` : ""}`;
const budget = (s) => (s.met ? "met" : `not met (${s.failures.join("; ")})`);
const f2 = (n) => (typeof n === "number" ? n.toFixed(2) : "—");

function latest(r) {
  const m = r.machine;
  const head = [
    `Latest full run (${r.date.slice(0, 16).replace("T", " ")} UTC, ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB,`,
    `node ${r.node}, workerd ${r.workerd}; ${r.method.users.toLocaleString("en")}-user clinic; bundle`,
    `${Math.round(r.bundle.gzipKiB)} KiB gzip of a ${r.bundle.budgetGzipKiB} KiB budget; one password hash ${r.passwordHashMs} ms;`,
    `\`bench/results.json\`). \`× floor\` is req/s over the storage floor's req/s in the same run; the round trips`,
    "are those started before the answer returns (the record scenarios' second D1 call is the audit row written",
    "after the answer, `waitUntil`). The /records scenarios use a 10,000-patient `per_patient` clinic with one",
    "physician on 2,000 care teams.",
    "",
    "| scenario | req/s | CPU ms/req | p99 ms | × floor | round trips | budget |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  const rows = r.scenarios.map(
    (s) =>
      `| ${s.name} | ${s.rps} | ${f2(s.cpuMsPerReq)} | ${s.p99} | ${f2(s.ratioToStorage)} | ${trips(s.roundTrips)} | ${budget(s)} |`,
  );
  return [...head, ...rows].join("\n");
}

function peers(r) {
  const matched = r.scenarios.filter((s) => s.peer);
  if (matched.length === 0) return null;
  const p = r.peers[0];
  const cell = (c) => (c ? `${c.rps} · ${f2(c.cpuMsPerReq)} · ${c.roundTrips?.d1 ?? 0}` : "—");
  const head = [
    `Beside ${p.name} ${p.version} in the same run (${r.date.slice(0, 10)}; ${p.name} seeded with the same`,
    `${r.method.users.toLocaleString("en")} users). \`× better-auth\` is our req/s over its best configuration that keeps`,
    "instant revocation; `× cache` compares with its cookie cache (no storage read; a revoked session answers up",
    "to 5 minutes): req/s ours ÷ its, and CPU its ÷ ours (≥ 1: ours costs less).",
    "",
    "| Clinic Edge scenario | req/s · CPU ms/req | round trips | better-auth | default: req/s · CPU ms · D1 trips | joins | cookie cache | × better-auth (best instant) | × cache (req/s, CPU) | budget |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const rows = matched.map((s) => {
    const c = s.peer.configs;
    const cache = s.peer.cache ? `${f2(s.peer.cache.rpsRatio)}, ${f2(s.peer.cache.cpuRatio)}` : "—";
    return `| ${s.name} | ${s.rps} · ${f2(s.cpuMsPerReq)} | ${trips(s.roundTrips, false)} | ${s.peer.scenario} | ${cell(c.default)} | ${cell(c.joins)} | ${cell(c.cache)} | ${f2(s.peer.ratio)} (${s.peer.best}) | ${cache} | ${budget(s)} |`;
  });
  return [...head, ...rows].join("\n");
}

function replace(text, marker, body) {
  const open = `<!-- bench:${marker} -->`;
  const close = `<!-- /bench:${marker} -->`;
  const a = text.indexOf(open);
  const b = text.indexOf(close);
  if (a < 0 || b < a) throw new Error(`README has no ${open} … ${close} section`);
  return `${text.slice(0, a + open.length)}\n${body}\n${text.slice(b)}`;
}

export function writeTables(
  resultsPath = join(root, "bench", "results.json"),
  readme = join(root, "README.md"),
) {
  const r = JSON.parse(readFileSync(resultsPath, "utf8"));
  let text = replace(readFileSync(readme, "utf8"), "latest", latest(r));
  const p = peers(r);
  if (p) text = replace(text, "peers", p);
  writeFileSync(readme, text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeTables(process.argv[2], process.argv[3]);
