// tsx bench/profile-trace.ts [--forks N] [--out FILE] — CPU profile of the tracer's main
// thread under a fork storm (issue #6 instrument). Loads the tracer as `tsbpf trace
// --json -o /dev/null` would, starts the node:inspector profiler only AFTER the programs
// are loaded (SIGPROF during BPF_PROG_LOAD makes the verifier return EAGAIN), runs
// `fork -n N`, and prints the top functions by self time (and writes the .cpuprofile).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { dirname } from "node:path";
import { EventWriter } from "../src/tracker/output.ts";
import { openTrace } from "../src/tracker/trace.ts";
import { argValue } from "./lib.ts";
import { buildWorkloads } from "./workloads/build.ts";

const forks = Number(argValue("--forks", "20000"));
const outFile = argValue("--out", "/tmp/h-s2/trace.cpuprofile");
const bins = buildWorkloads();
const session = await openTrace({ rules: [] });
const out = new EventWriter({ path: "/dev/null" }, { format: "json", startedAt: session.startedAt });
const insp = new Session();
insp.connect();
const post = (m: string, p?: object) =>
  new Promise<unknown>((res, rej) => insp.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
await post("Profiler.enable");
await post("Profiler.setSamplingInterval", { interval: 200 });
await post("Profiler.start");
const cpu0 = process.cpuUsage();
let n = 0;
const loop = (async () => {
  for await (const ev of session.events()) {
    out.write(ev);
    n++;
  }
})();
// The workload runs in a child; spawnSync would block our event loop, so use a promise.
await new Promise((r) => spawn(bins.fork, ["-n", String(forks)], { stdio: "inherit" }).on("exit", r));
await new Promise((r) => setTimeout(r, 500));
session.stop();
await loop;
const cpu = process.cpuUsage(cpu0);
const { profile } = (await post("Profiler.stop")) as { profile: Profile };
out.end();
session.close();
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(profile));

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}
const self = new Map<string, number>();
const byId = new Map(profile.nodes.map((x) => [x.id, x]));
const dt = new Map<number, number>();
profile.samples.forEach((id, i) => {
  dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
for (const [id, us] of dt) {
  const nd = byId.get(id) as Node;
  const f = nd.callFrame;
  const k = `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/(src|bench|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + us);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log(
  `events ${n}, main-process CPU user ${(cpu.user / 1e6).toFixed(2)} s sys ${(cpu.system / 1e6).toFixed(2)} s; profile ${(total / 1e6).toFixed(2)} s`,
);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log(
    `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${k}`,
  );
