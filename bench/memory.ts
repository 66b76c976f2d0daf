// npm run bench:memory — what it costs in memory to have the tracer running (issue 23):
// the fork storms of bench:tracer (on one CPU shared with the tracer, then free
// placement) under tsbpf and under libbpf-tools execsnoop + exitsnoop (run together
// as one peer), interleaved with no-tracer runs. Reports per tracer the RSS once
// started (idle), the peak RSS over the session (VmHWM), and RSS, PSS, USS and
// anonymous RSS after the storms, plus the storms' rates and tsbpf's lost events (the
// default ring size must lose nothing here). Last line: `ratio=R`, R = tsbpf's median
// peak RSS ÷ execsnoop+exitsnoop's (both processes summed).
import { appendResult, table } from "./lib.ts";
import { buildWorkloads, standardWorkloads } from "./workloads/build.ts";
import { type Cell, compare, fmt, memoryTable, peakRssRatio, rateOf } from "./workloads/compare.ts";
import { ensurePeers, ensureTsbpf, libbpfTools, tsbpfTracer } from "./workloads/tracers.ts";

const log = (s: string) => console.error(s);
const DURATION_S = 2;
const REPS = 5;

ensurePeers(log);
const bins = buildWorkloads();
const tsbpf = ensureTsbpf(log);
const workloads = standardWorkloads(DURATION_S).filter((w) => w.id === "fork-cpu0" || w.id === "fork");
log(
  `bench:memory: ${REPS} interleaved repetitions of ${workloads.map((w) => w.id).join("/")} (${DURATION_S} s each)`,
);
const cmp = await compare({ bins, tracers: [tsbpfTracer(tsbpf), libbpfTools()], workloads, reps: REPS, log });

const [ours, peer] = cmp.tracers;
if (!ours || !peer) throw new Error("unreachable");
for (const s of cmp.tracers) if (s.error) log(`${s.tracer.label} failed: ${s.error}`);
const ratio = peakRssRatio(ours, peer);
const rates = workloads.map((w) => [
  w.label,
  ...cmp.tracers.map((s) => fmt.n(rateOf(s.cells.get(w.id) as Cell))),
  fmt.n(rateOf(ours.cells.get(w.id) as Cell) / rateOf(peer.cells.get(w.id) as Cell), 3),
]);
const body = [
  `Binary: ${tsbpf.how}. Peer: \`stdbuf -oL execsnoop\` + \`stdbuf -oL exitsnoop\` (libbpf-tools, run together; their ` +
    `figures are the two processes summed). ${REPS} interleaved repetitions, ${DURATION_S} s per storm. RSS counts ` +
    "every resident page of a mapping, the binary's file pages and each mapping of the ring buffer included; PSS " +
    "divides shared pages among the processes that map them; USS is what ending the process would free.",
  "",
  memoryTable(cmp),
  "",
  table(["fork storm", ...cmp.tracers.map((s) => `${s.tracer.label} /s`), "rate ratio"], rates),
  "",
  `Lost events admitted by tsbpf at its default ring size: ${ours.lost}.`,
  "",
  `Peak RSS tsbpf ÷ execsnoop+exitsnoop: ${fmt.n(ratio, 2)}.`,
].join("\n");
appendResult("Memory: tsbpf vs execsnoop+exitsnoop under fork storms", "npm run bench:memory", body);
console.log(body);
console.log(`ratio=${fmt.n(ratio, 2)}`);
