// Parsing and validation of `tsbpf trace` options. Every bad value is a UsageError
// (exit 2) naming the flag and what it expects.
import { existsSync } from "node:fs";
import { UsageError } from "../errors.ts";
import { globToRegExp } from "../tracker/glob.ts";
import type { TraceOptions } from "../tracker/source.ts";
import { parseCommandArgs } from "./args.ts";
import { cgroupIdOfContainer, cgroupIdOfPath } from "./trace-cgroup.ts";

/** process.bpf.c clamps to TSBPF_ARGS_MAX (bpf/process.h). */
export const MAX_ARGS_BYTES = 32768;

export interface TraceCliConfig {
  trace: TraceOptions;
  json: boolean;
  output?: string;
  comm?: RegExp;
  rulesFile?: string;
  allowlistFile?: string;
  alertsOnly: boolean;
  durationMs?: number;
  time: "abs" | "rel";
  /** `-- CMD ARGS...` */
  command?: string[];
  /** --html FILE: an HTML timeline of the trace, written when it ends (src/report). */
  html?: string;
}

const SPEC = {
  json: { type: "boolean" },
  output: { type: "string", short: "o" },
  pid: { type: "string", short: "p" },
  uid: { type: "string", short: "u" },
  comm: { type: "string", short: "c" },
  cgroup: { type: "string" },
  container: { type: "string" },
  pidns: { type: "string" },
  failed: { type: "boolean", short: "x" },
  threads: { type: "boolean", short: "T" },
  env: { type: "boolean", short: "e" },
  "max-args": { type: "string" },
  rules: { type: "string" },
  allowlist: { type: "string" },
  "alerts-only": { type: "boolean" },
  "rate-limit": { type: "string" },
  duration: { type: "string", short: "d" },
  time: { type: "string", short: "t" },
  btf: { type: "string" },
  "no-cache": { type: "boolean" },
  "ring-size": { type: "string" },
  html: { type: "string" },
} as const;

function int(flag: string, v: string, min: number, max: number, what = "an integer"): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`trace: ${flag} expects ${what} (${min}..${max}), got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`trace: ${flag} expects ${what} (${min}..${max}), got '${v}'`);
  return n;
}

/** "100", "100/s" → 100 events per second. */
export function parseRate(v: string): number {
  const m = /^(\d+)(?:\/s)?$/.exec(v);
  if (!m) throw new UsageError(`trace: --rate-limit expects N/s (events per second, e.g. 100/s), got '${v}'`);
  return int("--rate-limit", m[1] as string, 1, 1_000_000, "N/s with N");
}

/** Largest --ring-size accepted: 1 GiB, far beyond any useful size (and the kernel's limit on 32-bit). */
export const MAX_RING_SIZE = 1 << 30;

/**
 * "4096", "64K", "8M" → bytes. The kernel accepts a BPF_MAP_TYPE_RINGBUF only with a
 * max_entries that is a power of two and a multiple of the page size
 * (kernel/bpf/ringbuf.c ringbuf_map_alloc), so anything else is refused here.
 */
export function parseRingSize(v: string): number {
  const m = /^(\d+)([KkMm]?)$/.exec(v);
  const n = m
    ? Number(m[1]) * (m[2] === "" ? 1 : /k/i.test(m[2] as string) ? 1024 : 1024 * 1024)
    : Number.NaN;
  if (!(n >= 4096 && n <= MAX_RING_SIZE && (n & (n - 1)) === 0))
    throw new UsageError(
      `trace: --ring-size expects a power of two from 4096 to 1G bytes (K/M suffixes allowed, e.g. 64K, 8M), got '${v}'`,
    );
  return n;
}

export function parseTraceArgs(args: string[]): TraceCliConfig {
  const dd = args.indexOf("--");
  const own = dd === -1 ? args : args.slice(0, dd);
  const command = dd === -1 ? undefined : args.slice(dd + 1);
  if (command !== undefined && command.length === 0)
    throw new UsageError("trace: nothing after '--' (expected CMD [ARGS...])");
  const { values: v, positionals } = parseCommandArgs("trace", own, SPEC, true);
  if (positionals.length > 0)
    throw new UsageError(
      `trace: unexpected argument '${positionals[0]}' (to trace a command, put it after '--')`,
    );

  const trace: TraceOptions = {
    threads: v.threads ?? false,
    env: v.env ?? false,
    failed: v.failed ?? false,
  };
  if (v["max-args"] !== undefined)
    trace.maxArgsBytes = int("--max-args", v["max-args"], 1, MAX_ARGS_BYTES, "a byte count");
  if (v.uid !== undefined) trace.uid = int("--uid", v.uid, 0, 0xfffffffe, "a numeric uid");
  if (v.pidns !== undefined)
    trace.pidns = int("--pidns", v.pidns, 1, 0xffffffff, "a pid namespace inode number");
  if (v.cgroup !== undefined && v.container !== undefined)
    throw new UsageError("trace: --cgroup and --container cannot be combined");
  if (v.cgroup !== undefined) trace.cgroupId = cgroupIdOfPath(v.cgroup);
  if (v.container !== undefined) trace.cgroupId = cgroupIdOfContainer(v.container).id;
  if (v.pid !== undefined) {
    if (command) throw new UsageError("trace: --pid and '-- CMD' cannot be combined");
    const pid = int("--pid", v.pid, 1, 0x3fffffff, "a process id");
    if (!existsSync(`/proc/${pid}`)) throw new UsageError(`trace: --pid ${pid}: no such process`);
    trace.rootPids = [pid];
  }
  if (command) trace.rootPids = [];
  if (v["rate-limit"] !== undefined) trace.rateLimitPerSec = parseRate(v["rate-limit"]);
  if (v.btf !== undefined) trace.btfPath = v.btf;
  if (v["no-cache"]) trace.coreCache = false;
  if (v["ring-size"] !== undefined) trace.ringSize = parseRingSize(v["ring-size"]);

  let comm: RegExp | undefined;
  if (v.comm !== undefined) {
    try {
      comm = globToRegExp(v.comm, false);
    } catch (e) {
      throw new UsageError(`trace: --comm ${v.comm}: ${(e as Error).message}`);
    }
  }
  let durationMs: number | undefined;
  if (v.duration !== undefined) {
    const s = Number(v.duration);
    if (!/^\d+(\.\d+)?$/.test(v.duration) || !(s > 0))
      throw new UsageError(`trace: --duration expects seconds (> 0), got '${v.duration}'`);
    durationMs = s * 1000;
  }
  const t = v.time ?? "abs";
  const time = t === "abs" || t === "absolute" ? "abs" : t === "rel" || t === "relative" ? "rel" : undefined;
  if (!time) throw new UsageError(`trace: --time expects abs or rel, got '${t}'`);

  return {
    trace,
    json: v.json ?? false,
    output: v.output,
    comm,
    rulesFile: v.rules,
    allowlistFile: v.allowlist,
    alertsOnly: v["alerts-only"] ?? false,
    durationMs,
    time,
    command,
    html: v.html,
  };
}
