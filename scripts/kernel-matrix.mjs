#!/usr/bin/env node
// The kernel matrix: boots Debian's own kernels (6.1 LTS, 6.12 LTS) in QEMU TCG guests
// that share this host's / read-only, runs tsbpf checks inside each, and prints a
// kernel × check table plus a kernel × feature table, ending with "N passed, N failed".
//
//   node scripts/kernel-matrix.mjs                       # every kernel, the CI checks
//   node scripts/kernel-matrix.mjs --kernel 6.12 --check tests-link
//   node scripts/kernel-matrix.mjs --all --host --markdown out.md
//
// Options:
//   --kernel S      a series (6.1, 6.12); repeatable; default: all
//   --check ID      a check (see --list); repeatable; default: the CI set
//   --all           every check
//   --host          also run the checks on the running kernel (its own column)
//   --list          list the checks and exit
//   --cache DIR     where kernels are downloaded and unpacked
//                   (default $TSBPF_KERNEL_CACHE or /var/cache/tsbpf-kernels)
//   --out DIR       guest logs (default <cache>/runs)
//   --timeout S     per-guest limit in seconds (default 2400)
//   --markdown F    also write the tables as Markdown to F
//   --json F        also write the results as JSON to F
//   --verbose       copy the guests' consoles to stderr
//   --cmd SHELL     run this one command instead of the checks (its log is printed)
//   --collect       boot nothing: build the tables from the guests' logs of an earlier run
// Guests run one at a time with -smp 2: TCG guests eat CPU, and the machine is shared.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CHECKS, CI_CHECKS } from "./kernel-matrix/checks.mjs";
import { readResults, runGuest } from "./kernel-matrix/guest.mjs";
import { prepareKernel, SERIES } from "./kernel-matrix/kernels.mjs";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  options: {
    kernel: { type: "string", multiple: true },
    check: { type: "string", multiple: true },
    all: { type: "boolean" },
    host: { type: "boolean" },
    list: { type: "boolean" },
    cache: { type: "string" },
    out: { type: "string" },
    timeout: { type: "string" },
    markdown: { type: "string" },
    json: { type: "string" },
    verbose: { type: "boolean" },
    cmd: { type: "string" },
    collect: { type: "boolean" },
  },
});

if (values.list) {
  for (const c of CHECKS)
    console.log(`${c.id.padEnd(18)} ${CI_CHECKS.includes(c.id) ? "[ci] " : "     "}${c.title}`);
  process.exit(0);
}
const cacheDir = values.cache ?? process.env.TSBPF_KERNEL_CACHE ?? "/var/cache/tsbpf-kernels";
const outRoot = values.out ?? join(cacheDir, "runs");
const series = values.kernel ?? Object.keys(SERIES);
const ids = values.all ? CHECKS.map((c) => c.id) : (values.check ?? CI_CHECKS);
for (const id of ids) {
  if (!CHECKS.some((c) => c.id === id)) {
    console.error(`kernel-matrix: unknown check ${id} (see --list)`);
    process.exit(2);
  }
}
const checks = values.cmd
  ? [{ id: "cmd", title: values.cmd, cmd: values.cmd }]
  : CHECKS.filter((c) => ids.includes(c.id));
const log = (s) => process.stderr.write(`kernel-matrix: ${s}\n`);
const env = {};
if (process.env.CI) env.CI = process.env.CI;

/** Per check: { ok, passed, failed, seconds, note } from its exit status and log. */
function judge(check, r) {
  if (!r || r.status === undefined) return { ok: false, passed: 0, failed: 1, note: "not run" };
  if (check.kind === "tests") {
    const m = [...r.log.matchAll(/^(\d+) passed, (\d+) failed/gm)].pop();
    if (!m)
      return { ok: false, passed: 0, failed: 1, seconds: r.seconds, note: `exit ${r.status}, no summary` };
    const passed = Number(m[1]);
    const failed = Number(m[2]) + (r.status !== 0 && Number(m[2]) === 0 ? 1 : 0);
    return { ok: failed === 0, passed, failed, seconds: r.seconds, note: `${passed}/${passed + failed}` };
  }
  const ok = r.status === 0;
  return {
    ok,
    passed: ok ? 1 : 0,
    failed: ok ? 0 : 1,
    seconds: r.seconds,
    note: ok ? "ok" : `exit ${r.status}`,
  };
}

/** Runs the checks on the host kernel itself, in the same shape as a guest's results. */
function runHost() {
  const results = {};
  for (const c of checks) {
    const t0 = Date.now();
    const r = spawnSync("sh", ["-c", c.cmd], {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", TSBPF_KERNEL_MATRIX: "1" },
      maxBuffer: 256 << 20,
    });
    results[c.id] = {
      status: r.status ?? 1,
      seconds: Math.round((Date.now() - t0) / 1000),
      log: r.stdout + r.stderr,
    };
    log(`[host] ${c.id}: exit ${r.status}`);
  }
  const release = spawnSync("uname", ["-r"], { encoding: "utf8" }).stdout.trim();
  return { release, results };
}

const columns = [];
if (values.host) columns.push({ name: "host", ...runHost() });
for (const s of series) {
  let kernel;
  try {
    kernel = prepareKernel(s, cacheDir, log);
  } catch (e) {
    log(`${s}: ${e.message}`);
    columns.push({ name: s, error: e.message, results: {} });
    continue;
  }
  const outDir = join(outRoot, kernel.release);
  if (values.collect) {
    columns.push({ name: s, ...readResults(outDir, checks), outDir });
    continue;
  }
  log(`booting ${kernel.pkg} (${checks.length} checks)`);
  mkdirSync(outRoot, { recursive: true });
  // Multi-threaded TCG now and then faults while the guest patches its own code early in
  // boot (an int3 oops before init runs): boot again, up to twice, when init never ran.
  let g;
  for (let attempt = 1; attempt <= 3; attempt++) {
    g = await runGuest(kernel, checks, {
      repo,
      outDir,
      timeoutSec: Number(values.timeout ?? 2400),
      smp: 2,
      mem: "3G",
      env,
      verbose: values.verbose,
    });
    if (g.bootSeconds !== undefined || attempt === 3 || /killed after/.test(g.error ?? "")) break;
    log(`${s}: ${g.error}; booting again (attempt ${attempt + 1} of 3)`);
  }
  if (g.error) log(`${s}: ${g.error}`);
  log(
    `${s}: booted in ${g.bootSeconds?.toFixed(1) ?? "?"} s, ${Math.round(g.totalSeconds)} s in all; logs in ${outDir}`,
  );
  columns.push({ name: s, ...g, outDir });
}

// Tables.
let passed = 0;
let failed = 0;
const cell = {};
for (const col of columns) {
  for (const c of checks) {
    const j = judge(c, col.results[c.id]);
    passed += j.passed;
    failed += j.failed;
    cell[`${col.name}/${c.id}`] = j;
    if ((!j.ok || values.cmd) && col.results[c.id]?.log) {
      console.log(`--- ${c.id} on ${col.release ?? col.name} failed; last lines of its log:`);
      console.log(col.results[c.id].log.split("\n").slice(-40).join("\n"));
    }
  }
}
const head = ["check", ...columns.map((c) => c.release ?? c.name)];
const rows = checks.map((c) => [
  c.title,
  ...columns.map((col) => {
    const j = cell[`${col.name}/${c.id}`];
    const mark = j.ok ? "✔" : "✘";
    return `${mark} ${j.note}${j.seconds !== undefined ? ` (${j.seconds}s)` : ""}`;
  }),
]);

// The feature table comes from the "features" check's JSON line, when it ran.
const featureNames = [];
const featureCols = columns.map((col) => {
  const lg = col.results.features?.log ?? "";
  const line = lg.split("\n").find((l) => l.startsWith("{"));
  try {
    const f = line ? JSON.parse(line) : {};
    for (const k of Object.keys(f)) if (!featureNames.includes(k)) featureNames.push(k);
    return f;
  } catch {
    return {};
  }
});
const fRows = featureNames.map((k) => [
  k,
  ...featureCols.map((f) => (k in f ? (f[k] === true ? "yes" : f[k] === false ? "no" : String(f[k])) : "?")),
]);

function text(h, rs) {
  const w = h.map((_, i) => Math.max(...[h, ...rs].map((r) => String(r[i]).length)));
  return [h, ...rs]
    .map((r) =>
      r
        .map((v, i) => String(v).padEnd(w[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
function md(h, rs) {
  return [
    `| ${h.join(" | ")} |`,
    `|${h.map(() => "---").join("|")}|`,
    ...rs.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
console.log("\nkernel × check");
console.log(text(head, rows));
if (fRows.length) {
  console.log("\nkernel × feature");
  console.log(text(["feature", ...head.slice(1)], fRows));
}
for (const col of columns) if (col.error) console.log(`${col.name}: ${col.error}`);
const times = columns
  .filter((c) => c.totalSeconds !== undefined)
  .map(
    (c) => `${c.release}: boot ${c.bootSeconds?.toFixed(0) ?? "?"} s, total ${Math.round(c.totalSeconds)} s`,
  );
if (times.length) console.log(`\n${times.join("; ")}`);
if (values.markdown) {
  const parts = [md(head, rows)];
  if (fRows.length) parts.push(md(["feature", ...head.slice(1)], fRows));
  writeFileSync(values.markdown, `${parts.join("\n\n")}\n`);
}
if (values.json)
  writeFileSync(
    values.json,
    JSON.stringify(
      columns.map((c) => ({
        kernel: c.release ?? c.name,
        bootSeconds: c.bootSeconds,
        totalSeconds: c.totalSeconds,
        error: c.error,
        checks: Object.fromEntries(checks.map((k) => [k.id, cell[`${c.name}/${k.id}`]])),
      })),
      null,
      2,
    ),
  );
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
