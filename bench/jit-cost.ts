// tsx bench/jit-cost.ts — what V8's optimizing compiler costs the tracer in a fork storm
// (issue #6). Not an npm script: an instrument to run under the bench lock,
//   flock /tmp/tsbpf-bench.lock npx tsx bench/jit-cost.ts [--forks N] [--reps R] [--top K]
//     [--tsbpf NAME=DIR[,--v8-flag...] ...] [--bin NAME=PATH[,VAR=VALUE...] ...]
// Each repetition starts every variant's `trace --json -o FILE` with --trace-opt
// --trace-deopt (from source: node --import tsx DIR/src/cli.ts; or a built single
// binary, --bin, where the flags go through NODE_OPTIONS... which a SEA ignores, so
// for a binary only the CPU figures are printed; VAR=VALUE pairs go into its
// environment, e.g. TSBPF_TURBO_INLINING=1, see src/binary/jit-policy.ts), waits until it reports a marker
// process, runs `fork -n N`, waits for an end marker, then stops it. It prints, per
// variant (sums over repetitions, divided by R):
//   cpu        tracer utime+stime during the storm (/proc/PID/stat, all threads), and
//              how much of it fell in the storm's first 0.5 s (the cold phase, when
//              V8 compiles the per-event code)
//   compiles   TurboFan compiles finished, and their summed background ("took a, B, c
//              ms": the middle figure) ms; per function: compiles, ms, deopts+reasons
// The V8 lines parsed are Node 20's (V8 11.3):
//   [completed compiling 0x.. <JSFunction NAME (sfi = 0x..)> (target TURBOFAN) [OSR] - took A, B, C ms]
//   [bailout (kind: deopt-eager, reason: REASON): begin. deoptimizing 0x.. <JSFunction NAME (sfi = ..)>, ...]
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { argValue } from "./lib.ts";
import { buildWorkloads, OUT_DIR, parseWorkloadLine } from "./workloads/build.ts";
import { cpuSeconds } from "./workloads/procstat.ts";

const args = process.argv.slice(2);
const FORKS = Number(argValue("--forks", "10000"));
const REPS = Number(argValue("--reps", "1"));
const TOP = Number(argValue("--top", "20"));
const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

interface Variant {
  name: string;
  cmd: string;
  env?: Record<string, string>;
  argv: (out: string) => string[];
  traced: boolean;
}
const variants: Variant[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i + 1] ?? "";
  const n = a.slice(0, a.indexOf("="));
  const d = a.slice(a.indexOf("=") + 1);
  if (!n || !d) continue;
  // NAME=DIR,--v8-flag,... : extra node/V8 flags for that variant (to try compiler flags).
  const [dir0, ...flags] = d.split(",");
  if (args[i] === "--tsbpf")
    variants.push({
      name: n,
      cmd: "stdbuf",
      argv: (out) => [
        "-oL",
        process.execPath,
        "--trace-opt",
        "--trace-deopt",
        ...flags,
        "--import",
        "tsx",
        join(dir0 as string, "src", "cli.ts"),
        "trace",
        "--json",
        "-o",
        out,
      ],
      traced: true,
    });
  if (args[i] === "--bin")
    variants.push({
      name: n,
      cmd: dir0 as string,
      env: Object.fromEntries(flags.map((f) => [f.slice(0, f.indexOf("=")), f.slice(f.indexOf("=") + 1)])),
      argv: (out) => ["trace", "--json", "-o", out],
      traced: false,
    });
}
if (variants.length === 0)
  variants.push({
    name: "tsbpf",
    cmd: process.execPath,
    argv: (out) => [
      "--trace-opt",
      "--trace-deopt",
      "--import",
      "tsx",
      join(ROOT, "src", "cli.ts"),
      "trace",
      "--json",
      "-o",
      out,
    ],
    traced: true,
  });

const bins = buildWorkloads();
const dir = join(OUT_DIR, "jit-cost");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the marker generator until the tracer's output mentions it. */
async function fence(out: string, tag: string, tracer: ChildProcess): Promise<void> {
  const m = spawn(bins.marker, [tag, "5"], { stdio: "ignore" });
  const t0 = Date.now();
  try {
    for (;;) {
      let s = "";
      try {
        s = readFileSync(out, "utf8");
      } catch {}
      if (s.includes(tag) || s.includes(`"pid":${m.pid},`)) return;
      if (tracer.exitCode !== null) throw new Error(`the tracer exited (${tracer.exitCode})`);
      if (Date.now() - t0 > 60_000) throw new Error(`no marker in ${out} within 60 s`);
      await sleep(20);
    }
  } finally {
    m.kill("SIGKILL");
  }
}

interface Fn {
  compiles: number;
  ms: number;
  deopts: Map<string, number>;
}
interface Totals {
  cpuS: number;
  coldS: number;
  rate: number;
  compiles: number;
  ms: number;
  deopts: number;
  fns: Map<string, Fn>;
}
const totals = new Map<string, Totals>();

const COMPLETED =
  /^\[completed compiling 0x[0-9a-f]+ <JSFunction ([^ (]*) ?\(sfi[^>]*> \(target TURBOFAN\).*took ([\d.]+), ([\d.]+), ([\d.]+) ms/;
const BAILOUT =
  /^\[bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing 0x[0-9a-f]+ <JSFunction ([^ (]*) ?\(sfi/;

/** Counts only what happened between the start and end fences (the storm). */
function parse(log: Buffer, t: Totals, from: number, to: number): void {
  const body = log.subarray(from, to).toString("utf8");
  const fn = (name: string): Fn => {
    const key = name || "(anonymous)";
    let f = t.fns.get(key);
    if (!f) t.fns.set(key, (f = { compiles: 0, ms: 0, deopts: new Map() }));
    return f;
  };
  for (const line of body.split("\n")) {
    let m = COMPLETED.exec(line);
    if (m) {
      const f = fn(m[1] as string);
      const ms = Number(m[3]);
      f.compiles++;
      f.ms += ms;
      t.compiles++;
      t.ms += ms;
      continue;
    }
    m = BAILOUT.exec(line);
    if (m) {
      const f = fn(m[3] as string);
      const r = `${m[2]}`;
      f.deopts.set(r, (f.deopts.get(r) ?? 0) + 1);
      t.deopts++;
    }
  }
}

for (let rep = 0; rep < REPS; rep++) {
  const order = [...variants];
  for (let k = 0; k < rep % order.length; k++) order.push(order.shift() as Variant);
  for (const v of order) {
    const out = join(dir, `${v.name}.ndjson`);
    // V8's trace goes to a file, not a pipe: a pipe nobody drains during the storm
    // would fill and stall the tracer. stdbuf -oL makes it
    // line-buffered, so the file size at each fence splits start-up from the storm.
    const logPath = join(dir, `${v.name}-${rep}.log`);
    const logFd = openSync(logPath, "w");
    const c: ChildProcess = spawn(v.cmd, v.argv(out), {
      stdio: ["ignore", logFd, "inherit"],
      env: { ...process.env, ...v.env },
    });
    closeSync(logFd);
    const pid = c.pid as number;
    await fence(out, `jit-${process.pid}-${rep}-start`, c);
    const from = statSync(logPath).size;
    const cpu0 = cpuSeconds(pid);
    // Not spawnSync: the CPU is also read 0.5 s in, while the storm runs.
    const storm = spawn(bins.fork, ["-n", String(FORKS)], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    storm.stdout?.on("data", (b: Buffer) => {
      stdout += b.toString();
    });
    const done = new Promise((res) => storm.on("exit", res));
    let cpuCold = Number.NaN;
    const probe = setTimeout(() => {
      cpuCold = cpuSeconds(pid);
    }, 500);
    await done;
    clearTimeout(probe);
    if (Number.isNaN(cpuCold)) cpuCold = cpuSeconds(pid);
    const w = parseWorkloadLine(stdout);
    await fence(out, `jit-${process.pid}-${rep}-end`, c);
    const cpu1 = cpuSeconds(pid);
    const to = statSync(logPath).size;
    c.kill("SIGINT");
    await new Promise((res) => (c.exitCode !== null ? res(0) : c.on("exit", res)));
    const log = readFileSync(logPath);
    let t = totals.get(v.name);
    if (!t)
      totals.set(v.name, (t = { cpuS: 0, coldS: 0, rate: 0, compiles: 0, ms: 0, deopts: 0, fns: new Map() }));
    t.cpuS += cpu1 - cpu0;
    t.coldS += cpuCold - cpu0;
    t.rate += w.rate;
    parse(log, t, from, to);
    console.error(
      `rep ${rep} ${v.name}: ${w.rate.toFixed(0)} forks/s, tracer cpu ${(cpu1 - cpu0).toFixed(2)} s ` +
        `(first 0.5 s: ${(cpuCold - cpu0).toFixed(2)} s)`,
    );
  }
}

for (const [name, t] of totals) {
  const d = (x: number) => (x / REPS).toFixed(1);
  console.log(
    `\n== ${name}: ${FORKS} forks, ${(t.rate / REPS).toFixed(0)} forks/s, tracer cpu ${(t.cpuS / REPS).toFixed(2)} s` +
      ` (first 0.5 s: ${(t.coldS / REPS).toFixed(2)} s)` +
      (variants.find((v) => v.name === name)?.traced
        ? `, TurboFan ${d(t.compiles)} compiles ${d(t.ms)} ms, ${d(t.deopts)} deopts (per storm)`
        : ""),
  );
  const fns = [...t.fns].sort((a, b) => b[1].ms - a[1].ms).slice(0, TOP);
  for (const [fname, f] of fns) {
    const reasons = [...f.deopts].map(([r, n]) => `${n}x ${r}`).join("; ");
    console.log(
      `  ${fname.padEnd(28)} ${d(f.compiles).padStart(5)} compiles ${d(f.ms).padStart(7)} ms` +
        (reasons ? `  deopts: ${reasons}` : ""),
    );
  }
}
