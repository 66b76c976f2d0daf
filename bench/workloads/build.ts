// Builds the C workload generators (bench/workloads/*.c) with gcc into bench/out/,
// which is gitignored. A binary is rebuilt when it is older than its source or
// than common.h, so the benches always run the committed generators.
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
export const OUT_DIR = join(BENCH_DIR, "out");
const SRC_DIR = fileURLToPath(new URL(".", import.meta.url));

export const GENERATORS = ["fork", "thread", "exec", "marker"] as const;
export type Generator = (typeof GENERATORS)[number];

function mtime(p: string): number {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

/** Compiles every generator that is missing or stale; returns name -> binary path. */
export function buildWorkloads(): Record<Generator, string> {
  mkdirSync(OUT_DIR, { recursive: true });
  const out = {} as Record<Generator, string>;
  const header = mtime(join(SRC_DIR, "common.h"));
  for (const g of GENERATORS) {
    const src = join(SRC_DIR, `${g}.c`);
    const bin = join(OUT_DIR, g);
    if (mtime(bin) < Math.max(mtime(src), header)) {
      const r = spawnSync("gcc", ["-O2", "-Wall", "-o", bin, src, "-lpthread"], { encoding: "utf8" });
      if (r.status !== 0) {
        throw new Error(`bench: gcc failed to build ${src}:\n${r.stderr || r.error?.message}`);
      }
    }
    out[g] = bin;
  }
  return out;
}

/** What a generator printed: `workload=<name> pid=<pid> count=<n> elapsed_s=<s> rate=<r> ...`. */
export interface WorkloadResult {
  name: string;
  pid: number;
  count: number;
  elapsedS: number;
  rate: number;
  argc?: number;
  argvBytes?: number;
}

export function parseWorkloadLine(stdout: string): WorkloadResult {
  const line = stdout.trim().split("\n").pop() ?? "";
  const kv = new Map(line.split(" ").map((f) => f.split("=") as [string, string]));
  const num = (k: string) => Number(kv.get(k));
  if (!kv.has("workload") || Number.isNaN(num("rate"))) {
    throw new Error(`bench: cannot parse workload output: ${JSON.stringify(stdout)}`);
  }
  return {
    name: kv.get("workload") as string,
    pid: num("pid"),
    count: num("count"),
    elapsedS: num("elapsed_s"),
    rate: num("rate"),
    argc: kv.has("argc") ? num("argc") : undefined,
    argvBytes: kv.has("argv_bytes") ? num("argv_bytes") : undefined,
  };
}

/** A workload as the benches run it: a generator plus its arguments. */
export interface Workload {
  id: string; // "fork", "fork-cpu0", "thread", "exec", "exec-long"
  label: string;
  gen: Generator;
  args: string[];
  /**
   * Run the workload on this CPU only (`taskset -c`), and the tracer with it for as
   * long as the workload runs (session.ts pins every thread of the tracer's processes
   * there, then lets them go). Undefined: the scheduler places everything.
   *
   * Why a shared CPU: this machine is a Firecracker VM whose idle vCPUs halt
   * (cpuidle haltpoll with guest_halt_poll_ns=0 on the kernel command line), and a
   * fork storm's hand-offs (child placed on the other vCPU, parent woken by the
   * child's exit) pay for waking a halted vCPU. Anything that keeps the other vCPU
   * busy makes the storm faster: measured here, `fork -d 2` ran at 4242-4702/s alone
   * and 5626-6442/s with `yes > /dev/null` running beside it. So with free placement
   * a tracer that wakes more often (or simply burns more CPU) raises the workload's
   * rate, and the rate stops measuring overhead. On one shared CPU nothing halts
   * while the workload runs, and everything the tracer does (its BPF programs, its
   * wakeups, its user-space CPU) comes out of the workload's time.
   */
  sharedCpu?: number;
}

export function standardWorkloads(durationS: number, longArgvBytes = 6144): Workload[] {
  const d = String(durationS);
  return [
    { id: "fork-cpu0", label: "fork storm, one shared CPU", gen: "fork", args: ["-d", d], sharedCpu: 0 },
    { id: "fork", label: "fork storm", gen: "fork", args: ["-d", d] },
    { id: "thread", label: "thread storm", gen: "thread", args: ["-d", d] },
    { id: "exec", label: "exec storm", gen: "exec", args: ["-d", d] },
    {
      id: "exec-long",
      label: `exec storm, ${(longArgvBytes / 1024).toFixed(0)} KiB argv`,
      gen: "exec",
      args: ["-d", d, "-a", String(longArgvBytes)],
    },
  ];
}

/** cmd and args to run on `cpu` only (`taskset -c`; threads inherit it), or as they are. */
export function onCpu(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ["taskset", ["-c", String(cpu), cmd, ...args]];
}

/**
 * Runs one workload to completion (synchronously: nothing else should run meanwhile).
 * With `busyLoop`, a busy loop (`yes > /dev/null`) runs beside it, unpinned: the
 * control that shows how much a CPU kept busy speeds the workload up on this machine
 * (see Workload.sharedCpu).
 */
export function runWorkload(bins: Record<Generator, string>, w: Workload, busyLoop = false): WorkloadResult {
  const [cmd, args] = onCpu(w.sharedCpu, bins[w.gen], w.args);
  const spinner = busyLoop ? spawn("yes", [], { stdio: "ignore" }) : undefined;
  let r: SpawnSyncReturns<string>;
  try {
    r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  } finally {
    spinner?.kill("SIGKILL");
  }
  if (r.status !== 0) {
    throw new Error(`bench: workload ${w.id} failed (status ${r.status}): ${r.stderr || r.error?.message}`);
  }
  return parseWorkloadLine(r.stdout);
}
