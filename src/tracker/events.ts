// The tracer's event model: one TypeScript type per NDJSON record of `tsbpf trace`
// (documented field by field in docs/events.md), plus the helpers that turn raw
// kernel values into those fields. Field names are snake_case because they ARE the
// wire format: an event object is written with escapeJsonLine() unchanged.
import { constants } from "node:os";

export { argvToBytes, bytesToArgv, cString, decodeSurrogateEscape, encodeSurrogateEscape } from "./utf8.ts";

/** The `event` field of a TraceEvent. */
export type EventKind = "fork" | "exec" | "exec_failed" | "exit" | "alert" | "lost";
/** How serious an alert is. */
export type Severity = "low" | "medium" | "high" | "critical";

/** Fields every event carries. `pid` is the thread-group id (what ps calls PID). */
export interface BaseEvent {
  event: EventKind;
  /** Wall-clock time, ISO 8601 UTC with ms or µs ("2025-01-02T03:04:05.123456Z"). */
  time: string;
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  comm: string;
  /** "<tgid>-<start ticks>": unique across pid reuse, see formatExecId(). */
  exec_id: string;
  parent_exec_id: string;
  /** Thread id; present on thread events (and on every event from the BPF side). */
  tid?: number;
  cgroup_id?: number;
  /** Inode number of the task's own pid namespace. */
  pidns?: number;
  /** The pid as seen inside that namespace. */
  ns_pid?: number;
}

export interface ForkEvent extends BaseEvent {
  event: "fork";
  child_pid: number;
  child_tid: number;
  /** True for a new thread (CLONE_THREAD), false for a new process. */
  thread: boolean;
  /** The child's own exec_id when the producer knows its start time (extension). */
  child_exec_id?: string;
}

export interface ExecEvent extends BaseEvent {
  event: "exec";
  filename: string;
  argv: string[];
  /** The real argument count, even when argv was truncated. */
  argc: number;
  argv_truncated: boolean;
  env?: string[];
  env_truncated?: boolean;
  /** Former thread id when a non-leader thread called execve (it takes over the tgid). */
  old_pid?: number;
  /** The interpreter named by a #! line (or binfmt_misc): present only for such execs. */
  interp?: string;
  /**
   * Path of the file the kernel executed, from its dentry chain (for a #! script: the
   * interpreter; for a memfd: "/memfd:NAME"); from /proc/<pid>/exe for seeded processes.
   */
  exe?: string;
  /** Permission bits of that file, octal ("0755", "4755"). */
  exe_mode?: string;
  exe_uid?: number;
  /** Its link count: 0 for a deleted file, an O_TMPFILE or a memfd. */
  exe_nlink?: number;
  /** Permission bits of its directory, octal ("1777" for /tmp). */
  exe_dir_mode?: string;
  exe_dir_uid?: number;
  /** Facts from the kernel about the file (exe-file.ts ExeFlag). */
  exe_flags?: string[];
}

export interface ExecFailedEvent extends BaseEvent {
  event: "exec_failed";
  filename: string;
  errno: number;
  /** Symbolic errno name, e.g. "ENOENT". */
  error: string;
}

export interface ExitEvent extends BaseEvent {
  event: "exit";
  exit_code: number;
  signal: number | null;
  signal_name: string | null;
  core_dumped: boolean;
  lifetime_ns: number;
  /** Raw wait(2)-style status (task->exit_code). */
  status: number;
  /** True when only one thread of a still-running process exited. */
  thread?: boolean;
  /**
   * The process's executable and argv as the tracer knew them at the exit: from its
   * last exec, or from /proc for a process that existed before the trace; a child that
   * never exec'd has its parent's. "" and [] when unknown (schema 2).
   */
  filename: string;
  argv: string[];
  argv_truncated: boolean;
}

export interface AlertEvent extends BaseEvent {
  event: "alert";
  rule: string;
  severity: Severity;
  description: string;
  reason: string;
  /** Executable path of the triggering exec. */
  filename?: string;
}

export interface LostEvent extends BaseEvent {
  event: "lost";
  count: number;
  /** Which event type was lost, or "ratelimit:<type>" for events dropped by the rate limiter. */
  kind: string;
}

/** One event of a trace (docs/events.md). */
export type TraceEvent = ForkEvent | ExecEvent | ExecFailedEvent | ExitEvent | AlertEvent | LostEvent;

/** Kernel USER_HZ on every architecture Linux exports to user space (include/asm-generic/param.h). */
export const USER_HZ = 100;
const NS_PER_TICK = BigInt(1e9 / USER_HZ);

/**
 * exec_id = "<tgid>-<start ticks>", where ticks = group leader start_boottime / (1e9/USER_HZ):
 * the same rounding as the kernel's nsec_to_clock_t() for /proc/<pid>/stat field 22
 * (fs/proc/array.c), so ids from BPF and from /proc agree.
 */
export function formatExecId(tgid: number, startBoottimeNs: bigint | number): string {
  return `${tgid}-${startTicks(startBoottimeNs)}`;
}

const NS_PER_TICK_NUM = 1e9 / USER_HZ;

/**
 * start_boottime ns → clock ticks (floor). The decoder passes a Number when the value
 * is below 2^53 (ns since boot: the first 104 days of uptime), which spares a BigInt
 * division and its result per event; a float division can round up across an integer
 * (n = k*1e7 - 1 gives k once k is large), so the quotient is corrected with an exact
 * multiplication (q*1e7 <= n + 1e7 < 2^53 + 2^24, exact in a double).
 */
export function startTicks(startBoottimeNs: bigint | number): number | bigint {
  if (typeof startBoottimeNs === "bigint") return startBoottimeNs / NS_PER_TICK;
  if (!Number.isSafeInteger(startBoottimeNs) || startBoottimeNs < 0)
    return BigInt(startBoottimeNs) / NS_PER_TICK;
  let q = Math.floor(startBoottimeNs / NS_PER_TICK_NUM);
  if (q * NS_PER_TICK_NUM > startBoottimeNs) q--;
  return q;
}

/** exec_id for a process seeded from /proc (starttime already in ticks). */
export function execIdFromTicks(tgid: number, startTicks: number | bigint): string {
  return `${tgid}-${startTicks}`;
}

/** Start ticks parsed back out of an exec_id, or undefined if malformed. */
export function execIdTicks(execId: string): number | undefined {
  // Once per new process: a char loop instead of a regex match (and its array).
  const dash = execId.indexOf("-");
  if (dash <= 0 || dash === execId.length - 1) return undefined;
  let ticks = 0;
  for (let i = 0; i < execId.length; i++) {
    const c = execId.charCodeAt(i);
    if (i === dash) continue;
    if (c < 48 || c > 57) return undefined;
    if (i > dash) ticks = ticks * 10 + (c - 48);
  }
  return ticks;
}

const SIGNALS = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/** "SIGKILL" for 9; real-time signals as "SIGRTMIN+n" counted from the kernel's SIGRTMIN (32). */
export function signalName(n: number): string {
  if (n > 0 && n < SIGNALS.length) return SIGNALS[n];
  if (n >= 32 && n <= 64) return n === 32 ? "SIGRTMIN" : `SIGRTMIN+${n - 32}`;
  return `SIG${n}`;
}

const ERRNO_NAMES = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) {
  // First name wins: EAGAIN before EWOULDBLOCK, EDEADLK before EDEADLOCK.
  if (!ERRNO_NAMES.has(num)) ERRNO_NAMES.set(num, name);
}

/** "ENOENT" for 2 (negative values, as the kernel returns them, are accepted too). */
export function errnoName(n: number): string {
  const v = Math.abs(n);
  return ERRNO_NAMES.get(v) ?? `E${v}`;
}

export interface DecodedStatus {
  exit_code: number;
  signal: number | null;
  signal_name: string | null;
  core_dumped: boolean;
}

/**
 * Decodes a wait(2) status as the kernel stores it in task->exit_code at exit
 * (kernel/exit.c: do_exit((code & 0xff) << 8) or the terminating signal | 0x80 for a
 * core dump). Unlike the `status >> 8` shortcut this keeps the signal and core bit,
 * and never guesses "code > 128 means signal" (that is only a shell convention).
 */
export function decodeStatus(status: number): DecodedStatus {
  const sig = status & 0x7f;
  return {
    exit_code: (status >> 8) & 0xff,
    signal: sig === 0 ? null : sig,
    signal_name: sig === 0 ? null : signalName(sig),
    core_dumped: (status & 0x80) !== 0,
  };
}

/**
 * ISO 8601 UTC time strings with microseconds ("YYYY-MM-DDTHH:MM:SS.ffffffZ"), for
 * code that formats one per event: the "YYYY-MM-DDTHH:MM:SS." part is kept for the
 * last second seen (a storm's events share it), so Date formatting runs about once a
 * second instead of once per event. Each decoder owns one (no module state).
 */
export class IsoTimeFormatter {
  private second = Number.NaN;
  private prefix = "";

  /** From nanoseconds since the Unix epoch. */
  fromNs(epochNs: bigint): string {
    // µs since the epoch is exact as a Number until 2^53 µs (year 2255).
    const us = Number(epochNs / 1000n);
    if (us < 0 || us > Number.MAX_SAFE_INTEGER) return isoTimeSlow(epochNs);
    return this.fromUs(us);
  }

  /** From µs since the epoch as a safe, non-negative integer Number. */
  fromUs(us: number): string {
    const sec = Math.floor(us / 1_000_000);
    if (sec !== this.second) this.newSecond(sec);
    const frac = us - sec * 1_000_000;
    return `${this.prefix}${frac < 100000 ? `${frac + 1_000_000}`.slice(1) : frac}Z`;
  }

  /**
   * The once-a-second part of fromUs, a method of its own: inlined into the per-event
   * code, its first run after that code was optimized lacked type feedback and
   * deoptimized the whole decode path (bench/jit-cost.ts).
   */
  private newSecond(sec: number): void {
    const iso = new Date(sec * 1000).toISOString(); // ...SS.000Z
    this.prefix = iso.slice(0, -4);
    this.second = sec;
  }
}

/** ISO 8601 UTC with microseconds, from nanoseconds since the Unix epoch (one-off: IsoTimeFormatter for a stream). */
export function isoTimeFromNs(epochNs: bigint): string {
  return new IsoTimeFormatter().fromNs(epochNs);
}

/** isoTimeFromNs for µs since the epoch as a safe, non-negative integer Number (one-off). */
export function isoTimeFromUs(us: number): string {
  return new IsoTimeFormatter().fromUs(us);
}

/** The uncached form, for times outside the cached range (before 1970, after 2255). */
function isoTimeSlow(epochNs: bigint): string {
  const ms = epochNs / 1_000_000n;
  const us = (epochNs / 1000n) % 1000n;
  const base = new Date(Number(ms)).toISOString(); // ...sss Z
  return `${base.slice(0, -1)}${us.toString().padStart(3, "0")}Z`;
}

/**
 * Milliseconds since the epoch of events' `time` strings (µs precision is dropped), for
 * code that reads one per event: for the tracer's own format (IsoTimeFormatter) the date
 * part is parsed once per second. The process table owns one (no module state).
 */
export class EventTimeParser {
  private prefix = "";
  private base = Number.NaN;

  ms(ev: { time: string }): number {
    const t = ev.time;
    if (t.length === 27 && t.charCodeAt(19) === 46 && t.charCodeAt(26) === 90) {
      if (!t.startsWith(this.prefix) || this.prefix === "") {
        if (!this.newSecond(t)) return Date.parse(t);
      }
      // Date.parse keeps the first 3 fraction digits (truncates), so do the same.
      let ms = 0;
      for (let i = 20; i < 23; i++) {
        const c = t.charCodeAt(i);
        if (c < 48 || c > 57) return Date.parse(t);
        ms = ms * 10 + (c - 48);
      }
      return this.base + ms;
    }
    return Date.parse(t);
  }

  /** The once-a-second part of ms() (kept out of it like IsoTimeFormatter's). */
  private newSecond(t: string): boolean {
    const prefix = t.slice(0, 20);
    const base = Date.parse(`${prefix}000Z`);
    if (!Number.isFinite(base)) return false;
    this.prefix = prefix;
    this.base = base;
    return true;
  }
}

/** Milliseconds since the epoch of an event's `time` (one-off: EventTimeParser for a stream). */
export function eventTimeMs(ev: { time: string }): number {
  return new EventTimeParser().ms(ev);
}
