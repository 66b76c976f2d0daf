// tsx bench/storm.ts — focused fork-storm A/B for tracer overhead work (issue #6).
// Not an npm script: a quick instrument to run under the bench lock while iterating,
//   flock /tmp/tsbpf-bench.lock npx tsx bench/storm.ts [options]
// Each repetition runs `fork -n N` once with no tracer and once under every variant
// (order rotated per repetition) and reports, per variant (medians over repetitions):
//   rate        forks/s of the workload (÷ the no-tracer rate)
//   cpu/10k     tracer CPU seconds (utime+stime of its process tree) per 10k events it
//               reports (tsbpf: fork+exit = 2 per round; execsnoop+exitsnoop: exit = 1)
//   wakeups/s   voluntary context switches of the tracer's threads per second of storm:
//               each one is a sleep that a ring-buffer notification (or a timer) ended
//   bpf ns/ev   with --bpf-stats (sysctl kernel.bpf_stats_enabled=1 for the run):
//               run_time_ns / run_cnt of each of the tracer's programs (bpftool prog show)
//   complete    tsbpf only: fork and exit events reported for the workload / produced
// Options: --forks N (default 20000), --reps R (default 3), --bpf-stats,
//   --tsbpf NAME=DIR[,--node-flag...] (repeatable; DIR is a checkout whose src/cli.ts is
//   run with tsx, with those extra node/V8 flags; default: this checkout as "tsbpf"),
//   --no-peers, --no-baseline, --cpu N (the workload and every tracer process run on CPU
//   N only, under taskset: bench:tracer's headline placement, see workloads/build.ts).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { argValue, median } from "./lib.ts";
import { buildWorkloads, OUT_DIR, onCpu, parseWorkloadLine } from "./workloads/build.ts";
import { processTree, sampleTree } from "./workloads/procstat.ts";

const args = process.argv.slice(2);
const FORKS = Number(argValue("--forks", "20000"));
const REPS = Number(argValue("--reps", "3"));
const BPF_STATS = args.includes("--bpf-stats");
const cpuArg = argValue("--cpu");
const CPU = cpuArg === undefined ? undefined : Number(cpuArg);
const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const tsbpfDirs: [string, string][] = [];
for (let i = 0; i < args.length; i++)
  if (args[i] === "--tsbpf") {
    const a = args[i + 1] ?? "";
    const eq = a.indexOf("=");
    if (eq > 0 && eq < a.length - 1) tsbpfDirs.push([a.slice(0, eq), a.slice(eq + 1)]);
  }
if (tsbpfDirs.length === 0) tsbpfDirs.push(["tsbpf", ROOT]);

const bins = buildWorkloads();
const dir = join(OUT_DIR, "storm");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Variant {
  name: string;
  /** [cmd, args, output file, via stdout] */
  procs: [string, string[], string, boolean][];
  /** events it reports per fork round */
  perRound: number;
  tsbpf: boolean;
}

const variants: Variant[] = tsbpfDirs.map(([name, spec]) => {
  // DIR,--flag,... : extra node/V8 flags for that variant (e.g. compiler flags).
  const [d = "", ...flags] = spec.split(",");
  return {
    name,
    procs: [
      [
        process.execPath,
        [
          ...flags,
          "--import",
          "tsx",
          join(d, "src", "cli.ts"),
          "trace",
          "--json",
          "-o",
          join(dir, `${name}.ndjson`),
        ],
        join(dir, `${name}.ndjson`),
        false,
      ],
    ],
    perRound: 2,
    tsbpf: true,
  } satisfies Variant;
});
if (!args.includes("--no-peers"))
  variants.push({
    name: "execsnoop+exitsnoop",
    procs: [
      ["stdbuf", ["-oL", "execsnoop"], join(dir, "execsnoop.txt"), true],
      ["stdbuf", ["-oL", "exitsnoop"], join(dir, "exitsnoop.txt"), true],
    ],
    perRound: 1,
    tsbpf: false,
  });

interface Sample {
  cpuS: number;
  vcsw: number;
  prog: Map<string, { ns: number; cnt: number }>;
}

function ctxSwitches(pids: number[]): number {
  let n = 0;
  for (const p of new Set(pids.flatMap((x) => processTree(x)))) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {}
    for (const t of tids) {
      try {
        const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(
          readFileSync(`/proc/${p}/task/${t}/status`, "utf8"),
        );
        if (m) n += Number(m[1]);
      } catch {}
    }
  }
  return n;
}

function progStats(pids: number[]): Map<string, { ns: number; cnt: number }> {
  const out = new Map<string, { ns: number; cnt: number }>();
  if (!BPF_STATS) return out;
  // The tracer's programs: the prog_id of every BPF fd its processes hold (fdinfo).
  const ids = new Set<number>();
  for (const p of new Set(pids.flatMap((x) => processTree(x)))) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${p}/fdinfo`);
    } catch {}
    for (const fd of fds) {
      try {
        const m = /^prog_id:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/fdinfo/${fd}`, "utf8"));
        if (m) ids.add(Number(m[1]));
      } catch {}
    }
  }
  const r = spawnSync("bpftool", ["prog", "show", "-j"], { encoding: "utf8" });
  for (const p of JSON.parse(r.stdout || "[]") as {
    id: number;
    name?: string;
    run_time_ns?: number;
    run_cnt?: number;
  }[]) {
    if (!ids.has(p.id)) continue;
    const k = p.name ?? "?";
    const prev = out.get(k) ?? { ns: 0, cnt: 0 };
    out.set(k, { ns: prev.ns + (p.run_time_ns ?? 0), cnt: prev.cnt + (p.run_cnt ?? 0) });
  }
  return out;
}

function sample(pids: number[]): Sample {
  return { cpuS: sampleTree(pids).cpuS, vcsw: ctxSwitches(pids), prog: progStats(pids) };
}

/** Runs the marker generator until every output file mentions its tag or its pid. */
async function fence(v: Variant, tag: string): Promise<void> {
  const m = spawn(bins.marker, [tag, "5"], { stdio: "ignore" });
  const mpid = m.pid as number;
  const t0 = Date.now();
  try {
    for (;;) {
      const ok = v.procs.every(([, , out]) => {
        let s = "";
        try {
          s = readFileSync(out, "utf8");
        } catch {}
        return s.includes(tag) || new RegExp(`\\s${mpid}\\s`).test(s);
      });
      if (ok) return;
      if (Date.now() - t0 > 60_000) throw new Error(`${v.name}: no marker within 60 s`);
      await sleep(20);
    }
  } finally {
    m.kill("SIGKILL");
  }
}

function runFork(): { pid: number; rate: number; count: number; elapsed: number } {
  const [cmd, a] = onCpu(CPU, bins.fork, ["-n", String(FORKS)]);
  const r = spawnSync(cmd, a, { encoding: "utf8" });
  const w = parseWorkloadLine(r.stdout);
  return { pid: w.pid, rate: w.rate, count: w.count, elapsed: w.elapsedS };
}

interface Row {
  rate: number[];
  cpu10k: number[];
  wakeups: number[];
  prog: Map<string, number[]>;
  complete: string[];
}
const rows = new Map<string, Row>();
const row = (n: string) => {
  let r = rows.get(n);
  if (!r) rows.set(n, (r = { rate: [], cpu10k: [], wakeups: [], prog: new Map(), complete: [] }));
  return r;
};

if (BPF_STATS) spawnSync("sysctl", ["-q", "kernel.bpf_stats_enabled=1"]);
try {
  for (let rep = 0; rep < REPS; rep++) {
    const order: (Variant | undefined)[] = [...variants];
    if (!args.includes("--no-baseline")) order.push(undefined);
    for (let k = 0; k < rep % order.length; k++) order.push(order.shift());
    for (const v of order) {
      if (!v) {
        row("(no tracer)").rate.push(runFork().rate);
        continue;
      }
      const kids: ChildProcess[] = v.procs.map(([cmd0, a0, out, viaStdout]) => {
        const fd = openSync(out, "w");
        const [cmd, a] = onCpu(CPU, cmd0, a0);
        const c = spawn(cmd, a, { stdio: ["ignore", viaStdout ? fd : "ignore", "inherit"] });
        closeSync(fd);
        return c;
      });
      const pids = kids.map((c) => c.pid as number);
      await fence(v, `storm-${process.pid}-${rep}-start`);
      const s0 = sample(pids);
      const w = runFork();
      await fence(v, `storm-${process.pid}-${rep}-end`);
      const s1 = sample(pids);
      const r = row(v.name);
      r.rate.push(w.rate);
      r.cpu10k.push(((s1.cpuS - s0.cpuS) / (w.count * v.perRound)) * 1e4);
      r.wakeups.push((s1.vcsw - s0.vcsw) / w.elapsed);
      for (const [name, a] of s1.prog) {
        const b = s0.prog.get(name) ?? { ns: 0, cnt: 0 };
        if (a.cnt > b.cnt) {
          const l = r.prog.get(name) ?? [];
          l.push((a.ns - b.ns) / (a.cnt - b.cnt));
          r.prog.set(name, l);
        }
      }
      for (const c of kids) c.kill("SIGINT");
      await Promise.all(
        kids.map((c) => new Promise((res) => (c.exitCode !== null ? res(0) : c.on("exit", res)))),
      );
      if (v.tsbpf) {
        let forks = 0;
        let exits = 0;
        for (const line of readFileSync(v.procs[0]?.[2] as string, "utf8").split("\n")) {
          if (!line.includes(String(w.pid))) continue;
          const ev = JSON.parse(line) as { event: string; pid: number; ppid: number };
          if (ev.event === "fork" && ev.pid === w.pid) forks++;
          if (ev.event === "exit" && ev.ppid === w.pid) exits++;
        }
        r.complete.push(`${forks + exits}/${2 * w.count}`);
      }
      console.error(
        `rep ${rep} ${v.name}: ${w.rate.toFixed(0)}/s cpu/10k ${r.cpu10k.at(-1)?.toFixed(3)} wakeups/s ${r.wakeups.at(-1)?.toFixed(0)}`,
      );
    }
  }
} finally {
  if (BPF_STATS) spawnSync("sysctl", ["-q", "kernel.bpf_stats_enabled=0"]);
}

const base = median(rows.get("(no tracer)")?.rate ?? []);
for (const [name, r] of rows) {
  const progs = [...r.prog].map(([p, l]) => `${p} ${median(l).toFixed(0)}ns`).join(", ");
  console.log(
    `${name.padEnd(22)} rate ${median(r.rate).toFixed(0).padStart(5)}/s (${(median(r.rate) / base).toFixed(3)})` +
      (r.cpu10k.length
        ? `  cpu/10k ${median(r.cpu10k).toFixed(3)}  wakeups/s ${median(r.wakeups).toFixed(0)}` +
          (progs ? `  bpf: ${progs}` : "") +
          (r.complete.length ? `  complete ${r.complete.join(" ")}` : "")
        : ""),
  );
}
