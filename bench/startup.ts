// npm run bench:startup — time from launching `dist/tsbpf trace` until it reports the
// first event of an exec done right after launch, against libbpf-tools execsnoop
// measured the same way in the same run (interleaved, medians of RUNS). A marker
// generator execs `/bin/true <tag>-<n>` every 2 ms from launch on; the time is taken
// when the marker shows up in the tracer's output file. Also reports the binary's
// size and its RSS while tracing. tsbpf runs twice per round: with its CO-RE cache
// (src/loader/core-cache.ts) in a fresh directory, so the first start is cold-cache
// and the later ones warm, and with TSBPF_NO_CACHE=1 (every start does CO-RE).
// Last line: `ratio=R`, R = tsbpf's warm-cache median ÷ execsnoop's (target ≤ 2);
// the cold-cache first start and the no-cache median are printed next to it.
// Every tracer starts with the same clean environment (PATH, HOME, TERM, LANG and
// what it needs: session.ts cleanEnv()), as from a user's shell; one more tsbpf row
// runs it with the harness's whole environment, so the cost of variables such as
// NODE_EXTRA_CA_CERTS (set in this sandbox) stays visible.
// `--runs N` for quicker runs while iterating: printed, not appended to RESULTS.md.
// `--baseline PATH` adds a row for another build of tsbpf (warm cache too), to A/B a
// change within one run (recorded, with the command line); `--rows a,b` keeps only
// those rows (ids: tsbpf, tsbpf-nocache, tsbpf-inherit, baseline, baseline-nocache,
// execsnoop) and, like
// `--runs`, implies not recording.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appendResult, commandLine, median, table } from "./lib.ts";
import { buildWorkloads } from "./workloads/build.ts";
import { fmt } from "./workloads/compare.ts";
import { describeEnv, runSession, type SessionResult } from "./workloads/session.ts";
import {
  baselineTsbpf,
  ensurePeers,
  ensureTsbpf,
  execsnoopOnly,
  type Tracer,
  type TsbpfBinary,
  tsbpfTracer,
} from "./workloads/tracers.ts";

const log = (s: string) => console.error(s);
const argOf = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : (process.argv[i + 1] ?? "");
};
const runsArg = argOf("--runs");
const baselineArg = argOf("--baseline");
const rowsArg = argOf("--rows");
const record = runsArg === undefined && rowsArg === undefined;
const RUNS = runsArg === undefined ? 9 : Number(runsArg);
if (!Number.isInteger(RUNS) || RUNS < 2) {
  console.error("bench:startup: --runs expects an integer >= 2 (run 1 of tsbpf is its cold-cache start)");
  process.exit(2);
}

ensurePeers(log);
const bins = buildWorkloads();
const bin = ensureTsbpf(log);
const cacheHome = mkdtempSync(join(tmpdir(), "tsbpf-bench-cache-"));
process.on("exit", () => rmSync(cacheHome, { recursive: true, force: true }));
function withEnv(
  t: Tracer,
  id: string,
  label: string,
  env: Record<string, string>,
  inheritEnv = false,
): Tracer {
  return {
    ...t,
    id,
    label,
    procs: (dir) => t.procs(dir).map((p) => ({ ...p, env: { ...p.env, ...env }, inheritEnv })),
  };
}
/** Variables of the harness's environment known to slow Node's start-up. */
const NODE_START_VARS = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"].filter((k) => process.env[k] !== undefined);
const inheritedLabel = NODE_START_VARS.length
  ? `inherited env (${NODE_START_VARS.map((k) => `${k} set`).join(", ")})`
  : "inherited env";
const baseline: TsbpfBinary | undefined = baselineTsbpf();
const tracers: Tracer[] = [
  withEnv(tsbpfTracer(bin), "tsbpf", "tsbpf", { XDG_CACHE_HOME: cacheHome }),
  withEnv(tsbpfTracer(bin), "tsbpf-nocache", "tsbpf -C", { TSBPF_NO_CACHE: "1" }),
  // Warm cache too: the "tsbpf" row fills the cache directory in its first run.
  withEnv(tsbpfTracer(bin), "tsbpf-inherit", "tsbpf env", { XDG_CACHE_HOME: cacheHome }, true),
  ...(baseline
    ? [
        withEnv(tsbpfTracer(baseline), "baseline", "baseline", { XDG_CACHE_HOME: cacheHome }),
        withEnv(tsbpfTracer(baseline), "baseline-nocache", "base -C", { TSBPF_NO_CACHE: "1" }),
      ]
    : []),
  execsnoopOnly(),
].filter((t) => rowsArg === undefined || t.id === "tsbpf" || rowsArg.split(",").includes(t.id));
const got = new Map<string, SessionResult[]>(tracers.map((t) => [t.id, []]));
const errors = new Map<string, string>();
for (let i = 0; i < RUNS; i++) {
  // Alternate which goes first, so neither always follows the other's teardown.
  const order = i % 2 ? [...tracers].reverse() : tracers;
  for (const t of order) {
    if (errors.has(t.id)) continue;
    const r = await runSession(t, {
      bins,
      workloads: [],
      tag: `tsbpf-marker-${process.pid}-${t.id}-${i}`,
      markerMs: 2,
    });
    if (r.error) {
      errors.set(t.id, r.error);
      log(`${t.label} failed: ${r.error}`);
      continue;
    }
    got.get(t.id)?.push(r);
    log(
      `  run ${i + 1}: ${t.label.padEnd(9)} ${(r.startupMs as number).toFixed(1)} ms, RSS ${((r.rssKb as number) / 1024).toFixed(1)} MB`,
    );
    await new Promise((res) => setTimeout(res, 200));
  }
}

const stat = (id: string) => {
  const rs = got.get(id) ?? [];
  const ms = rs.map((r) => r.startupMs as number);
  return {
    ms,
    med: median(ms),
    rss: rs.map((r) => r.rssKb as number),
    hwm: rs.map((r) => r.hwmKb as number),
  };
};
const ours = stat("tsbpf");
const peer = stat("execsnoop");
const nocache = stat("tsbpf-nocache");
// Run 1 of "tsbpf" found an empty cache directory: its cold-cache start.
const coldFirst = ours.ms[0] ?? Number.NaN;
const warm = { ...ours, ms: ours.ms.slice(1), med: median(ours.ms.slice(1)) };
const ratio = warm.med / peer.med;
const baseWarm = () => {
  const b = stat("baseline");
  return { ...b, ms: b.ms.slice(1), med: median(b.ms.slice(1)), rss: b.rss.slice(1), hwm: b.hwm.slice(1) };
};
const rows = tracers.map((t) => {
  // The baseline's run 1 may be cold too (another build can key its cache entries differently).
  const s = t.id === "tsbpf" ? warm : t.id === "baseline" ? baseWarm() : stat(t.id);
  const name =
    t.id === "tsbpf"
      ? `tsbpf (\`${bin.shown} trace\`), warm CO-RE cache (runs 2..${RUNS})`
      : t.id === "tsbpf-nocache"
        ? "tsbpf, no CO-RE cache (TSBPF_NO_CACHE=1)"
        : t.id === "tsbpf-inherit"
          ? `tsbpf, warm CO-RE cache, ${inheritedLabel}`
          : t.id === "baseline"
            ? `baseline \`${baselineArg} trace\`, warm CO-RE cache`
            : t.id === "baseline-nocache"
              ? "baseline, no CO-RE cache (TSBPF_NO_CACHE=1)"
              : "libbpf-tools `stdbuf -oL execsnoop`";
  return [
    name,
    errors.get(t.id) ?? `${s.med.toFixed(1)} ms`,
    s.ms.length ? `${Math.min(...s.ms).toFixed(1)}–${Math.max(...s.ms).toFixed(1)} ms` : "",
    fmt.mb(s.rss),
    fmt.mb(s.hwm),
  ];
});
const size = bin.sizeBytes ? `${(bin.sizeBytes / 1e6).toFixed(1)} MB` : "n/a (not built)";
const body = [
  `Launch → first reported event of a \`/bin/true <marker>\` exec'd every 2 ms from launch on; ${RUNS} interleaved runs each; output to a file. ` +
    `tsbpf: \`${bin.shown} trace --json -o FILE\`. ` +
    `Environment of every tracer: ${describeEnv()}, plus what it needs (tsbpf: XDG_CACHE_HOME or TSBPF_NO_CACHE=1, and TSBPF_DEBUG=1); ` +
    `the "inherited env" row runs tsbpf with the harness's whole environment instead.`,
  "",
  table(["tracer", "start-up (median)", "range", "RSS while tracing", "peak RSS"], rows),
  "",
  `dist/tsbpf size: ${size}.`,
  "",
  `tsbpf cold-cache first start (run 1, empty cache): ${fmt.n(coldFirst, 1)} ms; no-cache median ${fmt.n(nocache.med, 1)} ms (÷ execsnoop: ${fmt.n(nocache.med / peer.med, 2)}, target ≤ 2).`,
  "",
  `tsbpf warm-cache start-up median ÷ execsnoop start-up median: ${fmt.n(ratio, 2)} (target ≤ 1.5; this is the ratio below).`,
  ...(baseline
    ? [
        "",
        `Baseline (${baselineArg}): warm-cache median ÷ execsnoop ${fmt.n(baseWarm().med / peer.med, 2)}, ` +
          `no-cache median ÷ execsnoop ${fmt.n(stat("baseline-nocache").med / peer.med, 2)}; ` +
          `tsbpf ÷ baseline: warm cache ${fmt.n(warm.med / baseWarm().med, 3)}, no cache ${fmt.n(nocache.med / stat("baseline-nocache").med, 3)}.`,
      ]
    : []),
].join("\n");
if (record) appendResult("Start-up: tsbpf trace vs execsnoop", commandLine("bench:startup"), body);
else log("(--runs/--rows: not appended to bench/RESULTS.md)");
console.log(body);
console.log(`ratio=${fmt.n(ratio, 3)}`);
