// Parsing and validation of `tsbpf trace` options into an openTrace() config plus what
// only the CLI needs (where and how to print). Every bad value is a UsageError (exit 2)
// naming the flag and what it expects. The option table (TRACE_OPTIONS) also drives
// the help text, the man page and the shell completions (src/cli/options.ts).
import { existsSync } from "node:fs";
import { UsageError } from "../errors.ts";
import { compileGlob } from "../tracker/glob.ts";
import type { TraceConfig } from "../tracker/trace.ts";
import { parseCommandArgs } from "./args.ts";
import { parseDuration } from "./duration.ts";
import { type OptionTable, parserSpec } from "./options.ts";
import { parseByteSize } from "./size.ts";
import { EXPORT_OPTIONS, parseTraceExportArgs, type TraceExportConfig } from "./trace-export.ts";

/** process.bpf.c clamps to TSBPF_ARGS_MAX (bpf/process.h). */
export const MAX_ARGS_BYTES = 32768;
/** The most arguments an exec can have is bounded by the byte budget anyway: one NUL each. */
export const MAX_ARGS_COUNT = MAX_ARGS_BYTES;

export interface TraceCliConfig {
  /** What openTrace() gets. */
  trace: TraceConfig;
  /** User rules and allowlist files, read before anything is loaded. */
  rulesFile?: string;
  allowlistFile?: string;
  json: boolean;
  /** A file for the events; undefined with outputFd for an fd, or neither for stdout. */
  output?: string;
  /** Mode of a created output file (default 0600). */
  outputMode?: number;
  outputFd?: number;
  time: "abs" | "rel";
  /** No summary and tree at the end (text mode). */
  noSummary: boolean;
  /** No header, no summary, no notes on stderr. */
  quiet: boolean;
  /** `-- CMD ARGS...` */
  command?: string[];
  /** --html FILE: an HTML timeline of the trace, written when it ends (src/report). */
  html?: string;
  /** Things the user should know about how a flag was read (printed unless --quiet). */
  notes: string[];
  /** Metrics, rotation, NATS (src/cli/trace-export.ts). */
  export: TraceExportConfig;
}

export const TRACE_OPTIONS: OptionTable = [
  { group: "Output" },
  { name: "json", type: "boolean", help: "one JSON object per line (schema: docs/events.md)" },
  {
    name: "output",
    short: "o",
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "write events to FILE instead of stdout ('-' is stdout); created mode 0600",
  },
  {
    name: "output-mode",
    type: "string",
    arg: "MODE",
    help: "mode of the -o file (octal, default 0600: events hold other users' command lines)",
  },
  {
    name: "output-fd",
    type: "string",
    arg: "FD",
    help: "write events to this open fd (2: stderr), to keep them apart from CMD's stdout",
  },
  {
    name: "time",
    short: "t",
    type: "string",
    arg: "abs|rel",
    values: ["abs", "rel"],
    help: "wall-clock times (default), or seconds since the start (JSON: adds elapsed_s)",
  },
  {
    name: "html",
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "also draw the trace as an HTML timeline when it ends (what 'tsbpf report' writes)",
  },
  { name: "no-summary", type: "boolean", help: "no summary and process tree at the end" },
  { name: "quiet", short: "q", type: "boolean", help: "no header, summary or notes: events only" },
  { group: "Filters" },
  {
    name: "pid",
    short: "p",
    type: "string",
    arg: "PID",
    help: "only PID and its descendants (in the kernel)",
  },
  {
    name: "uid",
    short: "u",
    type: "string",
    arg: "UID",
    help: "only processes with this real uid (in the kernel)",
  },
  {
    name: "comm",
    short: "c",
    type: "string",
    arg: "NAME",
    help: "only events whose comm matches NAME (glob: 'py*'); -c with a '/' is --cgroup, as in execsnoop",
  },
  {
    name: "cgroup",
    type: "string",
    arg: "PATH",
    complete: "dir",
    help: "only this cgroup v2 (path under /sys/fs/cgroup)",
  },
  { name: "container", type: "string", arg: "ID", help: "only the cgroup of this container (id prefix)" },
  {
    name: "pidns",
    type: "string",
    arg: "INODE",
    help: "only this pid namespace (inode, as in /proc/PID/ns/pid)",
  },
  {
    name: "exit-failed",
    type: "boolean",
    help: "only failed exits (non-zero code or a signal; exitsnoop -x), failed execs and alerts",
  },
  { group: "Events" },
  {
    name: "failed",
    short: "x",
    type: "boolean",
    help: "also report failed execs (exec_failed, with errno), as execsnoop -x; not root, needs CAP_DAC_READ_SEARCH too (tracefs)",
  },
  { name: "threads", short: "T", type: "boolean", help: "also report thread creation and thread exits" },
  {
    name: "env",
    short: "e",
    type: "boolean",
    help: "capture each exec's environment (secret-looking values shown as ***)",
  },
  {
    name: "env-redact",
    type: "string",
    arg: "GLOBS",
    help: "with --env: also redact keys matching these comma-separated globs (default *SECRET*, *TOKEN*, *PASSWORD*, *_KEY, ...)",
  },
  {
    name: "env-keep",
    type: "string",
    arg: "GLOBS",
    help: "with --env: never redact keys matching these globs ('*': no redaction)",
  },
  {
    name: "max-args",
    type: "string",
    arg: "N",
    help: "show at most N arguments per exec, as execsnoop (argv_truncated set when cut)",
  },
  {
    name: "arg-bytes",
    type: "string",
    arg: "N",
    help: `argv bytes captured per exec in the kernel (1..${MAX_ARGS_BYTES}, default 4096)`,
  },
  { group: "Rules" },
  {
    name: "rules",
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "user rules (JSON) on top of the built-in ones",
  },
  {
    name: "allowlist",
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "alert on any executable not listed (paths, globs)",
  },
  { name: "alerts-only", type: "boolean", help: "print only alerts (and lost-event reports)" },
  {
    name: "rate-limit",
    type: "string",
    arg: "N/s",
    help: "at most N fork/exec events per second per cgroup, in the kernel (exits never dropped)",
  },
  ...EXPORT_OPTIONS,
  { group: "Other" },
  {
    name: "duration",
    short: "d",
    type: "string",
    arg: "TIME",
    help: "stop after TIME (seconds, or 500ms, 1s, 2m, 1h)",
  },
  {
    name: "btf",
    type: "string",
    arg: "FILE",
    complete: "file",
    help: "kernel BTF for CO-RE instead of /sys/kernel/btf/vmlinux",
  },
  { name: "no-cache", type: "boolean", help: "redo CO-RE instead of reusing results stored for this kernel" },
  {
    name: "ring-size",
    type: "string",
    arg: "SIZE",
    help: "events ring buffer size; default 2M (power of two from 4K to 1G, K/M/G suffixes; perf fallback: per CPU, 1M)",
  },
];

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
 * "4096", "64K", "8M", "1G" → bytes. The kernel accepts a BPF_MAP_TYPE_RINGBUF only with a
 * max_entries that is a power of two and a multiple of the page size
 * (kernel/bpf/ringbuf.c ringbuf_map_alloc), so anything else is refused here.
 */
export function parseRingSize(v: string): number {
  const n = parseByteSize(v) ?? Number.NaN;
  if (!(n >= 4096 && n <= MAX_RING_SIZE && (n & (n - 1)) === 0))
    throw new UsageError(
      `trace: --ring-size expects a power of two from 4K to 1G bytes (bytes, or with a K/M/G suffix: 64K, 8M, 1G), got '${v}'`,
    );
  return n;
}

export function parseTraceArgs(args: string[]): TraceCliConfig {
  const dd = args.indexOf("--");
  const own = dd === -1 ? args : args.slice(0, dd);
  const command = dd === -1 ? undefined : args.slice(dd + 1);
  if (command !== undefined && command.length === 0)
    throw new UsageError("trace: nothing after '--' (expected CMD [ARGS...])");
  const { values: v, positionals } = parseCommandArgs("trace", own, parserSpec(TRACE_OPTIONS), true);
  if (positionals.length > 0)
    throw new UsageError(
      `trace: unexpected argument '${positionals[0]}' (to trace a command, put it after '--')`,
    );
  const str = (k: string) => v[k] as string | undefined;
  const flag = (k: string) => v[k] === true;
  const notes: string[] = [];

  const trace: TraceConfig = {
    threads: flag("threads"),
    env: flag("env"),
    failed: flag("failed"),
    alertsOnly: flag("alerts-only"),
    exitFailed: flag("exit-failed"),
  };
  const argBytes = str("arg-bytes");
  if (argBytes !== undefined)
    trace.maxArgsBytes = int("--arg-bytes", argBytes, 1, MAX_ARGS_BYTES, "a byte count");
  const maxArgs = str("max-args");
  if (maxArgs !== undefined)
    trace.maxArgs = int("--max-args", maxArgs, 1, MAX_ARGS_COUNT, "an argument count");
  const uid = str("uid");
  if (uid !== undefined) trace.uid = int("--uid", uid, 0, 0xfffffffe, "a numeric uid");
  const pidns = str("pidns");
  if (pidns !== undefined) trace.pidns = int("--pidns", pidns, 1, 0xffffffff, "a pid namespace inode number");

  // execsnoop and exitsnoop spell a cgroup path -c: a comm never contains '/', so -c
  // with one can only mean that habit.
  let comm = str("comm");
  let cgroup = str("cgroup");
  if (comm?.includes("/")) {
    const shortForm = own.some((a) => a === "-c" || (a.startsWith("-c") && !a.startsWith("--")));
    if (!shortForm)
      throw new UsageError(
        `trace: --comm ${comm}: a comm never contains '/' (for a cgroup use --cgroup PATH)`,
      );
    if (cgroup !== undefined) throw new UsageError(`trace: -c ${comm} and --cgroup: give one cgroup`);
    notes.push(`-c ${comm} is read as --cgroup (a comm never contains '/'; execsnoop's -c is a cgroup)`);
    cgroup = comm;
    comm = undefined;
  }
  const container = str("container");
  if (cgroup !== undefined && container !== undefined)
    throw new UsageError("trace: --cgroup and --container cannot be combined");
  if (cgroup !== undefined) trace.cgroup = cgroup;
  if (container !== undefined) trace.container = container;
  const pid = str("pid");
  if (pid !== undefined) {
    if (command) throw new UsageError("trace: --pid and '-- CMD' cannot be combined");
    const n = int("--pid", pid, 1, 0x3fffffff, "a process id");
    if (!existsSync(`/proc/${n}`)) throw new UsageError(`trace: --pid ${n}: no such process`);
    trace.pid = n;
  }
  if (command) trace.command = command;
  const rate = str("rate-limit");
  if (rate !== undefined) trace.rateLimitPerSec = parseRate(rate);
  const btf = str("btf");
  if (btf !== undefined) trace.btfPath = btf;
  if (flag("no-cache")) trace.coreCache = false;
  const ring = str("ring-size");
  if (ring !== undefined) trace.ringSize = parseRingSize(ring);
  if (comm !== undefined) {
    try {
      trace.comm = compileGlob(comm, false);
    } catch (e) {
      throw new UsageError(`trace: --comm ${comm}: ${(e as Error).message}`);
    }
  }
  const duration = str("duration");
  if (duration !== undefined) trace.durationMs = parseDuration("trace", "--duration", duration);
  const t = str("time") ?? "abs";
  const time = t === "abs" || t === "absolute" ? "abs" : t === "rel" || t === "relative" ? "rel" : undefined;
  if (!time) throw new UsageError(`trace: --time expects abs or rel, got '${t}'`);

  let output = str("output");
  let outputFd: number | undefined;
  const fd = str("output-fd");
  if (fd !== undefined) {
    if (output !== undefined) throw new UsageError("trace: --output and --output-fd cannot be combined");
    outputFd = int("--output-fd", fd, 1, 1 << 20, "an open file descriptor");
  }
  if (output === "-") {
    output = undefined;
    outputFd = 1;
  }
  const om = str("output-mode");
  let outputMode: number | undefined;
  if (om !== undefined) {
    if (!/^0?[0-7]{3}$/.test(om))
      throw new UsageError(`trace: --output-mode expects an octal mode such as 0600, got '${om}'`);
    outputMode = Number.parseInt(om, 8);
  }
  const globs = (k: string) =>
    str(k)
      ?.split(",")
      .map((g) => g.trim())
      .filter(Boolean);
  const redact = globs("env-redact");
  const keep = globs("env-keep");
  if ((redact || keep) && !trace.env) throw new UsageError("trace: --env-redact and --env-keep need --env");
  if (redact || keep) trace.envRedaction = { redact, keep };

  return {
    trace,
    rulesFile: str("rules"),
    allowlistFile: str("allowlist"),
    json: flag("json"),
    output,
    outputFd,
    outputMode,
    time,
    noSummary: flag("no-summary") || flag("quiet"),
    quiet: flag("quiet"),
    command,
    html: str("html"),
    notes,
    export: parseTraceExportArgs(v, output),
  };
}
