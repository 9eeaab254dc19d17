#!/usr/bin/env node
/**
 * The benchmark's chart: one self-contained HTML page (inline SVG and CSS, no script, no external font or
 * file). Per scenario, Clinic Edge beside its storage floor and, when the run had --peers, beside each
 * better-auth configuration: req/s and CPU ms/req, each scenario on its own scale (the figures are printed on
 * the bars), with the date, machine and versions.
 *
 * bench/run.mjs calls writeReport after every run; `node bench/report.mjs [results.json] [report.html]`
 * renders it again (default: bench/results.json into bench/report.html).
 */
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const esc = (v) =>
  String(v).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );

const COLORS = { ours: "#1f6feb", floor: "#8b949e", default: "#d4a72c", joins: "#bf8700", cache: "#e6c86e" };
const BAR_H = 16;
const GAP = 4;
const LABEL_W = 250;
const PANEL_W = 280;

/** The bars of one scenario: Clinic Edge, its floor, then the peer's configurations. */
function barsOf(s) {
  const bars = [
    { key: "ours", label: "Clinic Edge", rps: s.rps, cpu: s.cpuMsPerReq },
    { key: "floor", label: "its storage floor", rps: s.storageRps, cpu: s.storageCpuMsPerReq },
  ];
  for (const [config, c] of Object.entries(s.peer?.configs ?? {})) {
    bars.push({
      key: config,
      label: `${s.peer.name} ${config}${c.instantRevocation ? "" : " (revocation delayed)"}`,
      rps: c.rps,
      cpu: c.cpuMsPerReq,
    });
  }
  return bars;
}

function panel(bars, field, x0, unit, digits) {
  const max = Math.max(...bars.map((b) => b[field] ?? 0), 1e-9);
  return bars
    .map((b, i) => {
      const v = b[field] ?? 0;
      const w = Math.max(1, (v / max) * (PANEL_W - 110));
      const y = i * (BAR_H + GAP);
      return `<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[b.key] ?? "#999"}"/><text x="${(x0 + w + 4).toFixed(1)}" y="${y + BAR_H - 4}" class="v">${esc(v.toFixed(digits))} ${unit}</text>`;
    })
    .join("");
}

function scenarioSvg(s) {
  const bars = barsOf(s);
  const h = bars.length * (BAR_H + GAP) + 14;
  const labels = bars
    .map(
      (b, i) =>
        `<text x="${LABEL_W - 6}" y="${i * (BAR_H + GAP) + BAR_H - 4}" text-anchor="end" class="l">${esc(b.label)}</text>`,
    )
    .join("");
  const w = LABEL_W + 2 * PANEL_W + 20;
  const heads = `<text x="${LABEL_W}" y="10" class="h">req/s (more is better)</text><text x="${LABEL_W + PANEL_W + 20}" y="10" class="h">CPU ms/req (less is better)</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(s.name)}">${heads}<g transform="translate(0 14)">${labels}${panel(bars, "rps", LABEL_W, "req/s", 0)}${panel(bars, "cpu", LABEL_W + PANEL_W + 20, "ms", 2)}</g></svg>`;
}

const rt = (r = {}) =>
  `${r.kv ?? 0} KV + ${r.d1 ?? 0} D1 + ${r.do ?? 0} DO${r.rl ? ` + ${r.rl} rate limit` : ""}`;

/** The page for one results object (bench/results.json's shape). */
export function renderReport(report) {
  const peer = report.peers?.[0];
  const title = `Clinic Edge benchmark, ${report.date.slice(0, 10)}${report.mode === "quick" ? " (quick run)" : ""}`;
  const m = report.machine ?? {};
  const meta = [
    `${esc(report.date)} · ${esc(report.mode)} run (${report.method.repetitions} × ${report.method.durationSeconds} s passes, ${report.method.connections} connections, medians)`,
    `${esc(m.cpu)}, ${m.cores} cores, ${m.memoryGiB} GiB, ${esc(m.platform)}`,
    `node ${esc(report.node)}, workerd ${esc(report.workerd)}${peer ? `, ${esc(peer.name)} ${esc(peer.version)}` : ""}`,
    `${report.method.users.toLocaleString("en")} users seeded in ${report.seedSeconds} s${peer ? ` (${esc(peer.name)}: ${peer.seedSeconds} s)` : ""}; bundle ${report.bundle.gzipKiB} KiB gzip${report.passwordHashMs ? `; one password hash ${report.passwordHashMs} ms` : ""}`,
  ];
  const rows = report.scenarios
    .map((s) => {
      const peerLine = s.peer
        ? `<p class="n">× ${esc(s.peer.name)} <b>${s.peer.ratio === null ? "n/a" : s.peer.ratio.toFixed(2)}</b> (ours ÷ its ${esc(s.peer.best)}, the best configuration that keeps instant revocation). Clinic Edge: ${esc(rt(s.roundTrips))}; ${esc(s.peer.does)}.<br>${Object.entries(
            s.peer.configs,
          )
            .map(([c, v]) => `${esc(s.peer.name)} ${esc(c)}: ${esc(rt(v.roundTrips))}; ${esc(v.does)}.`)
            .join("<br>")}</p>`
        : `<p class="n">${esc(rt(s.roundTrips))}</p>`;
      return `<section><h2>${esc(s.name)} <span class="${s.met ? "ok" : "no"}">${s.met ? "budget met" : `budget not met: ${esc(s.failures.join("; "))}`}</span></h2><p class="n">× floor ${s.ratioToStorage.toFixed(2)}, p99 ${s.p99} ms (floor ${s.storageP99} ms)</p>${scenarioSvg(s)}${peerLine}</section>`;
    })
    .join("\n");
  const legend = Object.entries({
    ours: "Clinic Edge",
    floor: "storage floor (the same storage round trips, no framework)",
    ...(peer
      ? { default: `${peer.name} default`, joins: `${peer.name} joins`, cache: `${peer.name} cookie cache` }
      : {}),
  })
    .map(([k, v]) => `<span><i style="background:${COLORS[k]}"></i>${esc(v)}</span>`)
    .join(" ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:900px;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}h2{font-size:1rem;margin:1.6rem 0 .2rem}section{border-top:1px solid #d0d7de}
.meta{color:#57606a;margin:0}.n{color:#57606a;margin:.2rem 0;font-size:12px}
.ok{color:#1a7f37;font-weight:normal;font-size:12px}.no{color:#cf222e;font-weight:normal;font-size:12px}
.legend span{margin-right:1rem;white-space:nowrap}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}svg .v{fill:#57606a}svg .h{fill:#57606a;font-weight:600}
</style></head><body>
<h1>${esc(title)}</h1>
${meta.map((l) => `<p class="meta">${l}</p>`).join("\n")}
<p class="legend">${legend}</p>
<p class="n">Each scenario on its own scale: longer is more req/s (left) and more CPU per request (right). Server CPU is the workerd processes' own; round trips are counted by each side's bench entry.${peer ? ` ${esc(peer.name)}: ${esc(peer.notes)}.` : ""}</p>
${rows}
</body></html>
`;
}

/** Renders `report` into `file` and returns its path. */
export function writeReport(report, file) {
  writeFileSync(file, renderReport(report));
  return file;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bench = dirname(fileURLToPath(import.meta.url));
  const input = process.argv[2] ?? join(bench, "results.json");
  const output = process.argv[3] ?? join(bench, "report.html");
  const report = JSON.parse(await readFile(input, "utf8"));
  console.log(`written to ${writeReport(report, output)}`);
}
