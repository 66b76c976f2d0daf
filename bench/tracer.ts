// npm run bench:tracer — the short tracer benchmark (< 3 minutes): fork, thread and
// exec storms under tsbpf and under libbpf-tools execsnoop + exitsnoop (the two run
// together as one peer), interleaved with no-tracer runs. Reports each workload's
// rate under each tracer (and ÷ the no-tracer rate), events reported/produced,
// tracer CPU seconds per 10k events and peak RSS; appends the table to
// bench/RESULTS.md. Last line: `ratio=R`, R = fork-storm rate under tsbpf ÷ under
// execsnoop+exitsnoop, with the storm and the tracer sharing one CPU (the placement
// where the rate measures overhead on this VM: see Workload.sharedCpu in
// workloads/build.ts). The fork storm with free placement is run and reported too,
// next to its control: no tracer but a busy loop beside the storm.
// `--baseline PATH` adds another build of tsbpf (e.g. main's previous commit, built in
// a second worktree) as a third tracer in the same interleaved run: the before/after
// A/B of a change, with its own rows, memory line and ratios.
import { appendResult, commandLine, median, table } from "./lib.ts";
import { buildWorkloads, standardWorkloads } from "./workloads/build.ts";
import {
  type Cell,
  compare,
  controlRows,
  cpuPer10k,
  fmt,
  memoryTable,
  peakRssRatio,
  rateOf,
  slowdown,
} from "./workloads/compare.ts";
import { abTracers, baselineTsbpf, coldPageCache, ensurePeers, ensureTsbpf } from "./workloads/tracers.ts";

const log = (s: string) => console.error(s);
const DURATION_S = 2;
const REPS = 5;

ensurePeers(log);
const bins = buildWorkloads();
const tsbpf = ensureTsbpf(log);
const before = baselineTsbpf();
const workloads = standardWorkloads(DURATION_S).filter((w) => w.id !== "exec-long");
log(
  `bench:tracer: ${REPS} interleaved repetitions of ${workloads.map((w) => w.id).join("/")} (${DURATION_S} s each)`,
);
const tracers = abTracers(tsbpf, before);
const notDropped = coldPageCache(tracers, [tsbpf, before]);
const pageCacheNote = notDropped.length
  ? `The page cache of ${notDropped.join(", ")} could not be dropped before the run (bench/README.md, Memory).`
  : "Each tracer's executable was dropped from the page cache before the run (bench/README.md, Memory).";
const cmp = await compare({
  bins,
  tracers,
  workloads,
  reps: REPS,
  log,
  busyControl: ["fork"],
});

const [ours, peer, base] = cmp.tracers;
if (!ours || !peer) throw new Error("unreachable");
for (const s of cmp.tracers) if (s.error) log(`${s.tracer.label} failed: ${s.error}`);
const crashes = cmp.tracers
  .filter((s) => s.crashes.length)
  .map(
    (s) =>
      `${s.tracer.label}: ${s.crashes.length} of ${s.sessions} sessions failed (${[...new Set(s.crashes)].join("; ")}); their data is left out.`,
  );

const rows: (string | number)[][] = [];
for (const w of workloads) {
  rows.push(...controlRows(cmp, w, 7));
  for (const s of cmp.tracers) {
    const c = s.cells.get(w.id) as Cell;
    rows.push([
      w.label,
      s.tracer.label,
      s.startupMs.length ? fmt.n(rateOf(c)) : "failed",
      s.startupMs.length ? fmt.n(slowdown(cmp, s, w.id), 3) : "",
      c.produced ? `${c.reported} / ${c.produced}` : "none produced",
      fmt.n(cpuPer10k(c), 3),
      fmt.mb(s.hwmKb),
    ]);
  }
}
const ratioOf = (wid: string, a = ours) =>
  rateOf(a.cells.get(wid) as Cell) / rateOf(peer.cells.get(wid) as Cell);
const ratio = ratioOf("fork-cpu0");
const busyGain = median(cmp.busy.get("fork") as number[]) / median(cmp.baseline.get("fork") as number[]);
const body = [
  `Binary: ${tsbpf.how}${before ? `; baseline: ${before.how}` : ""}. Peer: \`stdbuf -oL execsnoop\` + \`stdbuf -oL exitsnoop\` (libbpf-tools, run together). ` +
    `Each tracer writes to a file. ${REPS} interleaved repetitions, ${DURATION_S} s per workload; rates are medians. ` +
    "Events = fork+exec+exit for tsbpf, exec+exit for the peer (what each reports by default); the thread storm " +
    "produces no process events, so its CPU column is per 10k threads. " +
    pageCacheNote,
  "",
  table(
    [
      "workload",
      "tracer",
      "rate /s",
      "÷ no tracer",
      "events reported / produced",
      "tracer CPU s / 10k events",
      "peak RSS",
    ],
    rows,
  ),
  "",
  `Lost events admitted: tsbpf ${ours.lost}${base ? `, baseline ${base.lost}` : ""}; the peer has no loss report in its output.`,
  "",
  "Memory (medians over sessions; bench/README.md, Memory):",
  "",
  memoryTable(cmp),
  "",
  `Peak RSS tsbpf ÷ execsnoop+exitsnoop: ${fmt.n(peakRssRatio(ours, peer), 2)}` +
    (base ? `; baseline ÷ execsnoop+exitsnoop: ${fmt.n(peakRssRatio(base, peer), 2)}.` : "."),
  ...(crashes.length ? ["", ...crashes] : []),
  "",
  `Free placement: a busy loop beside the fork storm made it ×${fmt.n(busyGain, 3)} as fast as alone. ` +
    "This VM's idle vCPUs halt, and a tracer that keeps a vCPU busy speeds the storm's hand-offs up, so with free " +
    "placement the rate rewards CPU use. The headline runs the storm and the tracer on one shared CPU, where " +
    "everything a tracer does comes out of the workload's time (bench/README.md, Placement).",
  "",
  `Rate under tsbpf ÷ rate under execsnoop+exitsnoop: fork storm on one shared CPU ${fmt.n(ratio, 3)} (headline, target ≥ 1.0); ` +
    `fork storm, free placement ${fmt.n(ratioOf("fork"), 3)}; thread storm ${fmt.n(ratioOf("thread"), 3)}; exec storm ${fmt.n(ratioOf("exec"), 3)}.`,
  ...(base
    ? [
        "",
        `Baseline, the same ratios: fork storm on one shared CPU ${fmt.n(ratioOf("fork-cpu0", base), 3)}; ` +
          `free placement ${fmt.n(ratioOf("fork", base), 3)}; thread storm ${fmt.n(ratioOf("thread", base), 3)}; exec storm ${fmt.n(ratioOf("exec", base), 3)}.`,
      ]
    : []),
].join("\n");
appendResult("Tracer overhead: tsbpf vs execsnoop+exitsnoop", commandLine("bench:tracer"), body);
console.log(body);
console.log(`ratio=${fmt.n(ratio, 3)}`);
