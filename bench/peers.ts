// npm run bench:peers [-- --quick | -- --soak]
//   Every tracer × every workload, interleaved with no-tracer runs: tsbpf,
//   libbpf-tools execsnoop+exitsnoop, bpftrace (execsnoop-style script) and BCC
//   (execsnoop-bpfcc+exitsnoop-bpfcc; when it cannot run, its error is reported).
//   Appends the tables, the commands, the machine and tsbpf's position against each
//   peer to bench/RESULTS.md and redraws bench/peers.svg. --quick: fewer and shorter
//   repetitions (< 5 minutes). --soak: only the 5-minute fork-storm soak of tsbpf,
//   sampling its RSS to show it does not grow after warm-up.
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { type Bar, renderChart } from "./chart.ts";
import { appendResult, median, table } from "./lib.ts";
import { buildWorkloads, standardWorkloads } from "./workloads/build.ts";
import {
  argvCapture,
  type Cell,
  type Comparison,
  compare,
  controlRows,
  cpuPer10k,
  fmt,
  rateOf,
  slowdown,
  type TracerSummary,
} from "./workloads/compare.ts";
import { runSession } from "./workloads/session.ts";
import {
  BPFTRACE_SCRIPT,
  bccTools,
  bpftraceTracer,
  ensurePeers,
  ensureTsbpf,
  libbpfTools,
  type TsbpfBinary,
  tsbpfTracer,
} from "./workloads/tracers.ts";

const log = (s: string) => console.error(s);
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const soak = args.includes("--soak");
const command = `npm run bench:peers${quick ? " -- --quick" : soak ? " -- --soak" : ""}`;
const SVG = fileURLToPath(new URL("./peers.svg", import.meta.url));

function machine(): string {
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  const la = loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");
  return `Machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? "?"}), Linux ${kernel}, load average at start ${la} (shared with other work: figures are noisy, hence interleaving and medians).`;
}

function version(cmd: string): string {
  try {
    return (
      execSync(cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
        .trim()
        .split("\n")[0] ?? ""
    );
  } catch {
    return "?";
  }
}

function pkgVersion(pkg: string): string {
  return version(`dpkg-query -W -f '$\{Version}' ${pkg}`);
}

ensurePeers(log);
const bins = buildWorkloads();
const bin = ensureTsbpf(log);

if (soak) await runSoak(bin);
else await runPeers(bin);

async function runSoak(b: TsbpfBinary): Promise<void> {
  const CHUNK_S = 10;
  const CHUNKS = 30; // 5 minutes of fork storm
  const samples: { t: number; rssKb: number }[] = [];
  let t = 0;
  log(`soak: ${CHUNKS} × ${CHUNK_S} s fork storm under tsbpf, RSS sampled after each`);
  const workloads = Array.from({ length: CHUNKS }, () =>
    standardWorkloads(CHUNK_S).find((w) => w.id === "fork"),
  ).filter((w) => w !== undefined);
  const r = await runSession(tsbpfTracer(b), {
    bins,
    workloads,
    tag: `tsbpf-marker-${process.pid}-soak`,
    between: (_i, s) => {
      t += CHUNK_S;
      samples.push({ t, rssKb: s.rssKb });
      log(`  ${t} s: RSS ${(s.rssKb / 1024).toFixed(1)} MB, tracer CPU ${s.cpuS.toFixed(1)} s`);
    },
  });
  // A crash mid-soak is a result too: report the samples taken before it.
  const crashed = r.error ? `tsbpf FAILED after ${t} s: ${r.error}` : undefined;
  const warm = samples.filter((s) => s.t >= 60);
  const first = warm[0]?.rssKb ?? Number.NaN;
  const last = warm[warm.length - 1]?.rssKb ?? Number.NaN;
  const maxW = Math.max(...warm.map((s) => s.rssKb));
  const events = r.runs.reduce((n, x) => n + x.reported.fork + x.reported.exit, 0);
  const produced = r.runs.reduce((n, x) => n + 2 * x.result.count, 0);
  const growth = (last - first) / first;
  const verdict = !Number.isFinite(growth)
    ? "not enough samples after the 60 s warm-up"
    : growth <= 0.05
      ? `no growth after warm-up (${fmt.pct(growth)} from 60 s to the last sample)`
      : `RSS GREW by ${fmt.pct(growth)} after warm-up`;
  const body = [
    machine(),
    "",
    `\`${b.shown} trace --json -o FILE\` under ${CHUNKS * CHUNK_S} s of fork storm (${CHUNKS} × ${CHUNK_S} s). ` +
      (crashed
        ? `**${crashed}**`
        : `Events reported ${events} / produced ${produced}, lost admitted ${r.lost}. Peak RSS ${((r.hwmKb ?? 0) / 1024).toFixed(1)} MB.`),
    "",
    table(
      ["time", "RSS"],
      samples
        .filter((s) => s.t % 30 === 0 || s === samples[samples.length - 1])
        .map((s) => [`${s.t} s`, `${(s.rssKb / 1024).toFixed(1)} MB`]),
    ),
    "",
    `Verdict: ${verdict}` +
      (warm.length
        ? ` (after warm-up: first ${(first / 1024).toFixed(1)} MB, max ${(maxW / 1024).toFixed(1)} MB, last ${(last / 1024).toFixed(1)} MB).`
        : "."),
  ].join("\n");
  appendResult("Soak: tsbpf RSS under a 5-minute fork storm", command, body);
  console.log(body);
  console.log(`ratio=${fmt.n(last / first, 3)}`);
}

async function runPeers(b: TsbpfBinary): Promise<void> {
  const reps = quick ? 2 : 5;
  const durationS = quick ? 1 : 3;
  const workloads = standardWorkloads(durationS);
  const tracers = [tsbpfTracer(b), libbpfTools(), bpftraceTracer(), bccTools()];
  log(`bench:peers${quick ? " --quick" : ""}: ${reps} interleaved repetitions, ${durationS} s per workload`);
  const cmp = await compare({ bins, tracers, workloads, reps, log, busyControl: ["fork"] });
  const body = report(cmp, b, reps, durationS);
  appendResult(
    `Peers: tsbpf vs execsnoop+exitsnoop, bpftrace, BCC${quick ? " (quick)" : ""}`,
    command,
    body.text,
  );
  writeFileSync(SVG, body.svg);
  console.log(body.text);
  console.log(`wrote ${SVG}`);
  console.log(`ratio=${fmt.n(body.ratio, 3)}`);
}

function report(cmp: Comparison, b: TsbpfBinary, reps: number, durationS: number) {
  const [ours, ...peers] = cmp.tracers as [TracerSummary, ...TracerSummary[]];
  if (ours.startupMs.length === 0)
    throw new Error(`bench:peers: tsbpf never ran: ${ours.error ?? ours.crashes.join("; ")}`);
  const ok = (s: TracerSummary) => s.startupMs.length > 0;
  const failures = (s: TracerSummary) =>
    s.crashes.length
      ? `**${s.crashes.length} of ${s.sessions} sessions failed**: ${[...new Set(s.crashes)].join("; ").replace(/\|/g, "\\|")}`
      : "none";
  const commands = [
    `- tsbpf: \`${b.shown} trace --json -o FILE\` (${b.how}${b.sizeBytes ? `, ${(b.sizeBytes / 1e6).toFixed(1)} MB` : ""})`,
    `- libbpf-tools ${pkgVersion("libbpf-tools")}: \`stdbuf -oL execsnoop > FILE\` and \`stdbuf -oL exitsnoop > FILE\`, run together, default options (execsnoop: --max-args 20, 128 bytes per argument)`,
    `- ${version("bpftrace --version")}: \`bpftrace execsnoop.bt > FILE\` with this script (default line-buffered output):`,
    "",
    "```",
    BPFTRACE_SCRIPT.trim(),
    "```",
    "",
    `- BCC (bpfcc-tools ${pkgVersion("bpfcc-tools")}): \`execsnoop-bpfcc > FILE\` and \`exitsnoop-bpfcc > FILE\``,
    "- workloads (bench/workloads/*.c, built with gcc -O2): `fork -d S` (fork+_exit+wait), `thread -d S` (pthread_create+join), `exec -d S` (fork+execve /bin/true+wait), `exec -d S -a 6144` (same with a 6 KiB argv of 64-byte arguments)",
  ];

  const summary = cmp.tracers.map((s) => [
    s.tracer.label,
    s.error ? `**failed**: ${s.error.replace(/\|/g, "\\|")}` : fmt.ms(s.startupMs),
    ok(s) ? fmt.mb(s.hwmKb) : "",
    ok(s) ? fmt.mb(s.rssKb) : "",
    ok(s) ? (s.tracer.id === "tsbpf" ? String(s.lost) : "not reported") : "",
    s.tracer.covers.join("+"),
    ok(s) ? failures(s) : "",
  ]);

  const rows: (string | number)[][] = [];
  for (const w of cmp.workloads) {
    rows.push(...controlRows(cmp, w, 8));
    for (const s of cmp.tracers) {
      const c = s.cells.get(w.id) as Cell;
      if (!ok(s)) {
        rows.push([w.label, s.tracer.label, "failed to start", "", "", "", "", ""]);
        continue;
      }
      const cap = argvCapture(c);
      rows.push([
        w.label,
        s.tracer.label,
        fmt.n(rateOf(c)),
        fmt.n(slowdown(cmp, s, w.id), 3),
        s === ours ? "" : fmt.n(rateOf(ours.cells.get(w.id) as Cell) / rateOf(c), 3),
        c.produced ? `${c.reported} / ${c.produced} (${fmt.pct(c.reported / c.produced)})` : "none produced",
        fmt.n(cpuPer10k(c), 3),
        cap ? `${fmt.pct(cap.fraction)} of ${c.argvPassed} B; ${cap.complete}/${cap.n} complete` : "",
      ]);
    }
  }

  // Plain statements and chart bars; every ratio oriented so that > 1 favours tsbpf.
  const lines: string[] = [];
  const bars: Bar[] = [];
  const word = (r: number, tol = 0.1) => (r >= 1 + tol ? "ahead" : r <= 1 - tol ? "BEHIND" : "on par");
  for (const p of peers) {
    if (!ok(p)) {
      lines.push(
        `- **vs ${p.tracer.label}**: it could not run on this machine, so there is nothing to compare: ${p.error}`,
      );
      bars.push({
        group: `vs ${p.tracer.label}`,
        label: "could not run here",
        value: undefined,
        note: "failed to start (see RESULTS.md)",
      });
      continue;
    }
    const parts: string[] = [];
    for (const w of cmp.workloads) {
      const r = rateOf(ours.cells.get(w.id) as Cell) / rateOf(p.cells.get(w.id) as Cell);
      parts.push(`${w.label} rate ×${fmt.n(r, 2)} (${word(r)})`);
      bars.push({ group: `vs ${p.tracer.label}`, label: `${w.label}: workload rate`, value: r });
    }
    const su = median(p.startupMs) / median(ours.startupMs);
    bars.push({ group: `vs ${p.tracer.label}`, label: "start-up time (peer ÷ tsbpf)", value: su });
    const rss = median(p.hwmKb) / median(ours.hwmKb);
    bars.push({ group: `vs ${p.tracer.label}`, label: "peak RSS (peer ÷ tsbpf)", value: rss });
    const ce = cpuPer10k(p.cells.get("exec") as Cell) / cpuPer10k(ours.cells.get("exec") as Cell);
    bars.push({ group: `vs ${p.tracer.label}`, label: "exec storm CPU/event (peer ÷ tsbpf)", value: ce });
    const oc = ours.cells.get("exec") as Cell;
    const pc = p.cells.get("exec") as Cell;
    const capO = argvCapture(ours.cells.get("exec-long") as Cell);
    const capP = argvCapture(p.cells.get("exec-long") as Cell);
    lines.push(
      `- **vs ${p.tracer.label}**: ${parts.join("; ")}. ` +
        `Start-up ${fmt.ms(ours.startupMs)} vs ${fmt.ms(p.startupMs)} (${word(su)}). ` +
        `Peak RSS ${fmt.mb(ours.hwmKb)} vs ${fmt.mb(p.hwmKb)} (${word(rss)}). ` +
        `Tracer CPU per 10k events (exec storm) ${fmt.n(cpuPer10k(oc), 3)} s vs ${fmt.n(cpuPer10k(pc), 3)} s (${word(ce)}). ` +
        `Events reported (exec storm): ${fmt.pct(oc.reported / oc.produced)} of fork+exec+exit vs ${fmt.pct(pc.reported / pc.produced)} of exec+exit. ` +
        `6 KiB argv captured: ${capO ? fmt.pct(capO.fraction) : "n/a"} vs ${capP ? fmt.pct(capP.fraction) : "n/a"}.` +
        (ours.crashes.length || p.crashes.length
          ? ` Failed sessions: tsbpf ${ours.crashes.length} of ${ours.sessions}, ${p.tracer.label} ${p.crashes.length} of ${p.sessions} (their data is left out).`
          : ""),
    );
  }
  const libbpf = peers.find((p) => p.tracer.id === "libbpf-tools");
  const ratio =
    libbpf && ok(libbpf)
      ? rateOf(ours.cells.get("fork-cpu0") as Cell) / rateOf(libbpf.cells.get("fork-cpu0") as Cell)
      : Number.NaN;

  const text = [
    machine(),
    "",
    `${reps} interleaved repetitions; in each, every workload runs ${durationS} s with no tracer and under each tracer (order rotated per repetition). ` +
      "Rates are medians; events, CPU and argv bytes are summed over repetitions; RSS is the median of per-session figures. " +
      "Events are matched to a workload by its pid (fork: the forking pid; exec/exit: the ppid). Start-up = launch until the tracer reports an exec of a marker run every 5 ms.",
    "",
    "Commands (every tracer writes to a file):",
    "",
    ...commands,
    "",
    "### Per tracer",
    "",
    table(
      [
        "tracer",
        "start-up (median)",
        "peak RSS",
        "RSS after workloads",
        "lost events admitted",
        "event kinds",
        "failed sessions",
      ],
      summary,
    ),
    "",
    "### Per workload",
    "",
    table(
      [
        "workload",
        "tracer",
        "rate /s (median)",
        "÷ no tracer",
        "tsbpf rate ÷ this",
        "events reported / produced",
        "tracer CPU s / 10k events",
        "argv captured",
      ],
      rows,
    ),
    "",
    "The thread storm produces no process events (threads are reported by tsbpf only with --threads, by exitsnoop only with -T), so its CPU column is per 10k threads: the cost of filtering them.",
    "",
    "### Where tsbpf stands",
    "",
    "Rate ratios within ±10 % are called on par. On this shared machine rates move by ±30 % between runs even interleaved, so the rate columns are the least stable figures; CPU per event, RSS, start-up, completeness and argv capture are the stable ones.",
    "",
    ...lines,
    "",
    "With free placement a CPU kept busy speeds the fork storm up on this VM (the busy-loop row), so the headline is the fork storm on one CPU shared with the tracer (bench/README.md, Placement).",
    "",
    `Chart: [peers.svg](peers.svg). Headline: fork-storm rate (one shared CPU) under tsbpf ÷ under execsnoop+exitsnoop = ${fmt.n(ratio, 3)}.`,
  ].join("\n");
  const svg = renderChart(
    "tsbpf against its peers (bench:peers)",
    `${new Date().toISOString().slice(0, 10)} · ${reps} reps × ${durationS} s · ${cpus().length} noisy vCPUs · ratios > 1 favour tsbpf`,
    bars,
  );
  return { text, svg, ratio };
}
