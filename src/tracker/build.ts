// Constructors from raw kernel record fields to event objects, so the BPF glue only
// decodes the record layout and calls one of these. Kernel-side values (bigint ns,
// byte buffers) are converted here in one place: exec ids, surrogateescape strings,
// wait-status decoding, errno names.
import {
  bytesToArgv,
  cString,
  type ExecEvent,
  type ExecFailedEvent,
  type ExitEvent,
  errnoName,
  type ForkEvent,
  formatExecId,
  type LostEvent,
  signalName,
} from "./events.ts";
import { exeFlags, octalMode, type RawExeFile } from "./exe-file.ts";

/** Fields of the task an event is about, as the BPF side records them. */
export interface RawTask {
  /** ISO time string (see isoTimeFromNs for converting kernel timestamps). */
  time: string;
  tgid: number;
  tid: number;
  ppid: number;
  uid: number;
  gid: number;
  /** task->comm (16 bytes, NUL-padded) or an already decoded string. */
  comm: Uint8Array | string;
  /** Group leader's start_boottime in ns (a Number only when below 2^53, so exact). */
  startBoottimeNs: bigint | number;
  /** The parent group leader's start_boottime in ns (same rule). */
  parentStartBoottimeNs: bigint | number;
  /** exec_id when the caller already has it (a table entry's string): not formatted again. */
  execId?: string;
  /** parent_exec_id when the caller already has it (not formatted from the two fields above). */
  parentExecId?: string;
  cgroupId?: bigint | number;
  pidnsInode?: number;
  nsPid?: number;
}

const str = (v: Uint8Array | string) => (typeof v === "string" ? v : cString(v));

/**
 * The fields every event starts with, in wire order, as one object that the kind's
 * constructor then extends in place (property order is the NDJSON key order). This is
 * the tracer's per-event path: one object, no spreads of intermediate objects.
 */
// biome-ignore lint/suspicious/noExplicitAny: filled in by the typed constructors below
function base(event: string, r: RawTask): any {
  const ev = {
    event,
    time: r.time,
    pid: r.tgid,
    tid: r.tid,
    ppid: r.ppid,
    uid: r.uid,
    gid: r.gid,
    comm: str(r.comm),
    exec_id: r.execId ?? formatExecId(r.tgid, r.startBoottimeNs),
    parent_exec_id: r.parentExecId ?? (r.ppid > 0 ? formatExecId(r.ppid, r.parentStartBoottimeNs) : ""),
  } as Record<string, unknown>;
  if (r.cgroupId !== undefined) ev.cgroup_id = Number(r.cgroupId);
  if (r.pidnsInode !== undefined) ev.pidns = r.pidnsInode;
  if (r.nsPid !== undefined) ev.ns_pid = r.nsPid;
  return ev;
}

export function forkEvent(
  r: RawTask,
  f: { childPid: number; childTid: number; thread: boolean; childStartBoottimeNs?: bigint | number },
): ForkEvent {
  const ev: ForkEvent = base("fork", r);
  ev.child_pid = f.childPid;
  ev.child_tid = f.childTid;
  ev.thread = f.thread;
  if (!f.thread && f.childStartBoottimeNs !== undefined)
    ev.child_exec_id = formatExecId(f.childPid, f.childStartBoottimeNs);
  return ev;
}

export interface RawExec {
  filename: Uint8Array | string;
  /** NUL-separated argv bytes: only the used part of the BPF buffer. */
  argvBytes: Uint8Array;
  argc: number;
  argvTruncated: boolean;
  envBytes?: Uint8Array;
  envc?: number;
  envTruncated?: boolean;
  /** Previous tid when a non-leader thread exec'd (omit or pass the tgid otherwise). */
  oldPid?: number;
  /** bprm->interp when it differs from the filename (#! scripts, binfmt_misc). */
  interp?: Uint8Array | string;
  /** Path of the executed file (NUL-terminated bytes from the kernel, or a string). */
  exe?: Uint8Array | string;
  /** The kernel's facts about that file (absent for events not from the kernel). */
  file?: RawExeFile;
}

export function execEvent(r: RawTask, x: RawExec): ExecEvent {
  const argv = bytesToArgv(x.argvBytes, x.argc);
  const ev: ExecEvent = base("exec", r);
  ev.filename = str(x.filename);
  ev.argv = argv;
  ev.argc = x.argc;
  ev.argv_truncated = x.argvTruncated || argv.length < x.argc;
  if (x.envBytes) {
    const env = bytesToArgv(x.envBytes, x.envc ?? -1);
    ev.env = env;
    ev.env_truncated = (x.envTruncated ?? false) || (x.envc !== undefined && env.length < x.envc);
  }
  if (x.oldPid !== undefined && x.oldPid !== r.tgid) ev.old_pid = x.oldPid;
  if (x.interp !== undefined) ev.interp = str(x.interp);
  if (x.exe !== undefined) ev.exe = typeof x.exe === "string" ? x.exe : cString(x.exe);
  const f = x.file;
  if (f !== undefined) {
    ev.exe_mode = octalMode(f.mode);
    ev.exe_uid = f.uid;
    ev.exe_nlink = f.nlink;
    ev.exe_dir_mode = octalMode(f.dirMode);
    ev.exe_dir_uid = f.dirUid;
    ev.exe_flags = exeFlags(f);
  }
  return ev;
}

export function execFailedEvent(
  r: RawTask,
  x: { filename: Uint8Array | string; errno: number },
): ExecFailedEvent {
  const errno = Math.abs(x.errno);
  const ev: ExecFailedEvent = base("exec_failed", r);
  ev.filename = str(x.filename);
  ev.errno = errno;
  ev.error = errnoName(errno);
  return ev;
}

export function exitEvent(
  r: RawTask,
  x: { status: number; lifetimeNs: bigint | number; thread: boolean },
): ExitEvent {
  // decodeStatus()'s fields and rules, in its order (exit_code, signal, signal_name,
  // core_dumped), written straight into the event: its result object was one more
  // allocation per exit.
  const status = x.status;
  const sig = status & 0x7f;
  const ev: ExitEvent = base("exit", r);
  ev.exit_code = (status >> 8) & 0xff;
  ev.signal = sig === 0 ? null : sig;
  ev.signal_name = sig === 0 ? null : signalName(sig);
  ev.core_dumped = (status & 0x80) !== 0;
  ev.lifetime_ns = Number(x.lifetimeNs);
  ev.status = x.status;
  if (x.thread) ev.thread = true;
  // Filled from the process table once the exit is applied (source.ts).
  ev.filename = "";
  ev.argv = NO_EXIT_ARGV;
  ev.argv_truncated = false;
  return ev;
}

/** argv of an exit whose process is unknown (shared, never mutated). */
const NO_EXIT_ARGV: string[] = Object.freeze([]) as unknown as string[];

/** A lost-events record; task fields are zero/empty because no task is involved. */
export function lostEvent(time: string, count: number, kind: string): LostEvent {
  return {
    event: "lost",
    time,
    pid: 0,
    ppid: 0,
    uid: 0,
    gid: 0,
    comm: "",
    exec_id: "",
    parent_exec_id: "",
    count,
    kind,
  };
}

/**
 * Settles the field representations of the event objects at load (see primeShapes in
 * process-entry.ts for why): a first exit by a signal (signal: null → a number), a
 * first lifetime over 2^31 ns or a cgroup id or uid over 2^31 (small int → double)
 * otherwise widens a field in the middle of a trace, and every optimized function
 * that read it (decode, the table, the JSON writer, the CLI loop) deoptimizes.
 */
function primeEventShapes(): void {
  const big = 2 ** 40;
  for (const n of [1, big]) {
    const r: RawTask = {
      time: "t",
      tgid: 1,
      tid: 1,
      ppid: 1,
      uid: n,
      gid: n,
      comm: "x",
      startBoottimeNs: 1,
      parentStartBoottimeNs: 1,
      execId: "1-1",
      parentExecId: "1-1",
      cgroupId: n,
      pidnsInode: n,
      nsPid: n,
    };
    exitEvent(r, { status: n === 1 ? 0 : 9, lifetimeNs: n, thread: false });
    exitEvent(r, { status: 0x8b, lifetimeNs: n, thread: true });
    // A process fork has no namespace fields (they are the child's, see bpf-decode.ts).
    const p = { ...r, pidnsInode: undefined, nsPid: undefined };
    forkEvent(p, { childPid: 2, childTid: 2, thread: false, childStartBoottimeNs: n });
    forkEvent(r, { childPid: 1, childTid: 3, thread: true });
  }
}
primeEventShapes();
