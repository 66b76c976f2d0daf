// npm run bench:startup — time from launching `dist/tsbpf trace` until it reports the
// first event of an exec done right after launch, against libbpf-tools execsnoop
// measured the same way in the same run (interleaved, medians of RUNS). A marker
// generator execs `/bin/true <tag>-<n>` every 2 ms from launch on; the time is taken
// when the marker shows up in the tracer's output file. Also reports the binary's
// size and its RSS while tracing. Last line: `ratio=R`, R = tsbpf's median ÷
// execsnoop's (target ≤ 2).
import { appendResult, median, table } from "./lib.ts";
import { buildWorkloads } from "./workloads/build.ts";
import { fmt } from "./workloads/compare.ts";
import { runSession, type SessionResult } from "./workloads/session.ts";
import { ensurePeers, ensureTsbpf, execsnoopOnly, type Tracer, tsbpfTracer } from "./workloads/tracers.ts";

const log = (s: string) => console.error(s);
const RUNS = 9;

ensurePeers(log);
const bins = buildWorkloads();
const bin = ensureTsbpf(log);
const tracers: Tracer[] = [tsbpfTracer(bin), execsnoopOnly()];
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
const ratio = ours.med / peer.med;
const rows = tracers.map((t) => {
  const s = stat(t.id);
  return [
    t.id === "tsbpf" ? `tsbpf (\`${bin.shown} trace\`)` : "libbpf-tools `stdbuf -oL execsnoop`",
    errors.get(t.id) ?? `${s.med.toFixed(1)} ms`,
    s.ms.length ? `${Math.min(...s.ms).toFixed(1)}–${Math.max(...s.ms).toFixed(1)} ms` : "",
    fmt.mb(s.rss),
    fmt.mb(s.hwm),
  ];
});
const size = bin.sizeBytes ? `${(bin.sizeBytes / 1e6).toFixed(1)} MB` : "n/a (not built)";
const body = [
  `Launch → first reported event of a \`/bin/true <marker>\` exec'd every 2 ms from launch on; ${RUNS} interleaved runs each; output to a file. ` +
    `tsbpf: \`${bin.shown} trace --json -o FILE\`.`,
  "",
  table(["tracer", "start-up (median)", "range", "RSS while tracing", "peak RSS"], rows),
  "",
  `dist/tsbpf size: ${size}.`,
  "",
  `tsbpf start-up ÷ execsnoop start-up: ${fmt.n(ratio, 2)} (target ≤ 2).`,
].join("\n");
appendResult("Start-up: tsbpf trace vs execsnoop", "npm run bench:startup", body);
console.log(body);
console.log(`ratio=${fmt.n(ratio, 3)}`);
