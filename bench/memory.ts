// npm run bench:memory — what it costs in memory to have the tracer running (issue 23):
// the fork storms of bench:tracer (on one CPU shared with the tracer, then free
// placement) under tsbpf and under libbpf-tools execsnoop + exitsnoop (run together
// as one peer), interleaved with no-tracer runs. Reports per tracer the RSS once
// started (idle), the peak RSS over the session (VmHWM), and RSS, PSS, USS and
// anonymous RSS after the storms, plus the storms' rates and tsbpf's lost events (the
// default ring size must lose nothing here). Last line: `ratio=R`, R = tsbpf's median
// peak RSS ÷ execsnoop+exitsnoop's (both processes summed).
// `--baseline PATH` runs another build of tsbpf as a third tracer in the same
// interleaved run (the before/after A/B of a change).
import { appendResult, commandLine, table } from "./lib.ts";
import { buildWorkloads, standardWorkloads } from "./workloads/build.ts";
import { type Cell, compare, fmt, memoryTable, peakRssRatio, rateOf } from "./workloads/compare.ts";
import { abTracers, baselineTsbpf, coldPageCache, ensurePeers, ensureTsbpf } from "./workloads/tracers.ts";

const log = (s: string) => console.error(s);
const DURATION_S = 2;
const REPS = 5;

ensurePeers(log);
const bins = buildWorkloads();
const tsbpf = ensureTsbpf(log);
const before = baselineTsbpf();
const workloads = standardWorkloads(DURATION_S).filter((w) => w.id === "fork-cpu0" || w.id === "fork");
log(
  `bench:memory: ${REPS} interleaved repetitions of ${workloads.map((w) => w.id).join("/")} (${DURATION_S} s each)`,
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
});

const [ours, peer, base] = cmp.tracers;
if (!ours || !peer) throw new Error("unreachable");
for (const s of cmp.tracers) if (s.error) log(`${s.tracer.label} failed: ${s.error}`);
const ratio = peakRssRatio(ours, peer);
const rateRatio = (a: typeof ours, wid: string) =>
  fmt.n(rateOf(a.cells.get(wid) as Cell) / rateOf(peer.cells.get(wid) as Cell), 3);
const rates = workloads.map((w) => [
  w.label,
  ...cmp.tracers.map((s) => fmt.n(rateOf(s.cells.get(w.id) as Cell))),
  rateRatio(ours, w.id),
  ...(base ? [rateRatio(base, w.id)] : []),
]);
const body = [
  `Binary: ${tsbpf.how}${before ? `; baseline: ${before.how}` : ""}. Peer: \`stdbuf -oL execsnoop\` + \`stdbuf -oL exitsnoop\` (libbpf-tools, run together; their ` +
    `figures are the two processes summed). ${REPS} interleaved repetitions, ${DURATION_S} s per storm. RSS counts ` +
    "every resident page of a mapping, the binary's file pages and each mapping of the ring buffer included; PSS " +
    "divides shared pages among the processes that map them; USS is what ending the process would free. " +
    pageCacheNote,
  "",
  memoryTable(cmp),
  "",
  table(
    [
      "fork storm",
      ...cmp.tracers.map((s) => `${s.tracer.label} /s`),
      "rate ratio",
      ...(base ? ["baseline rate ratio"] : []),
    ],
    rates,
  ),
  "",
  `Lost events admitted by tsbpf at its default ring size: ${ours.lost}${base ? ` (baseline: ${base.lost})` : ""}.`,
  "",
  `Peak RSS tsbpf ÷ execsnoop+exitsnoop: ${fmt.n(ratio, 2)}` +
    (base ? `; baseline ÷ execsnoop+exitsnoop: ${fmt.n(peakRssRatio(base, peer), 2)}.` : "."),
].join("\n");
appendResult("Memory: tsbpf vs execsnoop+exitsnoop under fork storms", commandLine("bench:memory"), body);
console.log(body);
console.log(`ratio=${fmt.n(ratio, 2)}`);
