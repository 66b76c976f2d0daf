// Seeds the process table from /proc so processes that existed before the trace
// started are visible (the tutorial's tracer could not see them), and reads one
// process's details on demand for the rules' ancestor checks. Processes may exit at
// any moment while we read: every per-process read tolerates ENOENT/ESRCH.
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { bytesToArgv, decodeSurrogateEscape, execIdFromTicks } from "./events.ts";
import type { ProcessTable } from "./process-table.ts";

export interface StatFields {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** Field 22: start time in clock ticks after boot. */
  starttime: number;
}

/**
 * Parses /proc/<pid>/stat (proc(5)). comm is in parentheses and may itself contain
 * ')' and spaces, so it runs to the LAST ')' in the line; fields are 1-based: after
 * the comm come state (3), ppid (4) ... starttime (22).
 */
export function parseStat(text: string): StatFields | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number.parseInt(text.slice(0, open), 10);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(" ");
  if (!Number.isInteger(pid) || rest.length < 20) return undefined;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    starttime: Number(rest[19]),
  };
}

/** Real uid/gid and thread count from /proc/<pid>/status. */
export function parseStatus(text: string): { uid: number; gid: number; threads: number } {
  const num = (key: string) => {
    const m = new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(text);
    return m ? Number(m[1]) : -1;
  };
  return { uid: num("Uid"), gid: num("Gid"), threads: Math.max(1, num("Threads")) };
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  start_ticks: number;
  exec_id: string;
  uid: number;
  gid: number;
  threads: number;
  argv: string[];
  /** Target of /proc/<pid>/exe ("" when unreadable, e.g. kernel threads). */
  exe: string;
}

/**
 * Reads small /proc files through one read buffer of its own, kept between reads
 * (/proc files report size 0, so readFileSync grows and copies a buffer per file). A
 * seeder owns one for all the processes it reads.
 */
export class ProcFileReader {
  private scratch = Buffer.allocUnsafe(16384);

  /**
   * open + read + close into the buffer, returning a copy: 3 syscalls per small /proc
   * file where readFileSync makes 5 (fstat, a second read to see EOF). A short read is
   * the end: stat/status are seq_files (seq_read_iter fills the whole request unless the
   * file ends) and cmdline's reader (get_mm_cmdline) loops the same way. Undefined when
   * the file cannot be opened or read.
   */
  read(path: string): Buffer | undefined {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return undefined; // the process exited, or (exe/cmdline) access was denied
    }
    try {
      let len = 0;
      for (;;) {
        const n = readSync(fd, this.scratch, len, this.scratch.length - len, null);
        len += n;
        if (n === 0 || len < this.scratch.length) break;
        const bigger = Buffer.allocUnsafe(this.scratch.length * 2);
        this.scratch.copy(bigger, 0, 0, len);
        this.scratch = bigger;
      }
      return Buffer.from(this.scratch.subarray(0, len));
    } catch {
      return undefined; // exited between open and read (ESRCH)
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * argv from /proc/<pid>/cmdline, shown as ps shows it. A process that rewrites its
 * title (setproctitle, Node's process.title, nginx, PostgreSQL) writes the title over
 * its old argv area and pads the rest with NULs, so the raw split is the title then
 * empty arguments ('my-daemon worker' '' '' ...). ps (procps) turns NULs into spaces
 * and trims the end. Here two or more trailing empty arguments count as padding and
 * are dropped (one may be a real empty argument), and a lone title is split at its
 * spaces so that it prints like ps: `my-daemon worker`.
 */
export function cmdlineArgv(bytes: Uint8Array): string[] {
  const argv = bytesToArgv(bytes);
  let end = argv.length;
  while (end > 0 && argv[end - 1] === "") end--;
  const padding = argv.length - end;
  if (padding < 2 || end === 0) return argv;
  const kept = argv.slice(0, end);
  if (kept.length === 1 && (kept[0] as string).includes(" "))
    return (kept[0] as string).split(" ").filter((w) => w !== "");
  return kept;
}

/**
 * Reads one process from procRoot/<pid>; undefined when it vanished or is malformed.
 * `files`: the reader to read through (a seeder passes its own; default a new one).
 */
export function readProcessInfo(
  pid: number,
  procRoot = "/proc",
  files: ProcFileReader = new ProcFileReader(),
): ProcessInfo | undefined {
  // Plain concatenation, not path.join: the seeding runs in a trace's first turns, and
  // hundreds of joins made V8 optimize path's normalizeString there, a compile in the
  // first half second of a fork storm (bench/README.md). pids are digits and
  // procRoot is /proc or a test fixture, so there is nothing to normalize.
  const dir = `${procRoot.endsWith("/") ? procRoot.slice(0, -1) : procRoot}/${pid}`;
  const statBuf = files.read(`${dir}/stat`);
  if (!statBuf) return undefined;
  const stat = parseStat(decodeSurrogateEscape(statBuf));
  if (!stat) return undefined;
  const statusBuf = files.read(`${dir}/status`);
  const status = statusBuf ? parseStatus(statusBuf.toString("latin1")) : { uid: -1, gid: -1, threads: 1 };
  const cmdline = files.read(`${dir}/cmdline`);
  let exe = "";
  try {
    exe = decodeSurrogateEscape(readlinkSync(`${dir}/exe`, { encoding: "buffer" }));
  } catch {
    // kernel thread, exited, or not permitted
  }
  // stat's comm is task->comm, the same bytes as /proc/<pid>/comm: one file fewer.
  const comm = stat.comm;
  return {
    pid: stat.pid,
    ppid: stat.ppid,
    comm,
    state: stat.state,
    start_ticks: stat.starttime,
    exec_id: execIdFromTicks(stat.pid, stat.starttime),
    uid: status.uid,
    gid: status.gid,
    threads: status.threads,
    argv: cmdline ? cmdlineArgv(cmdline) : [],
    exe,
  };
}

/** Numeric entries of procRoot (one per process; threads live under task/). */
export function listPids(procRoot = "/proc"): number[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Seeds a table from /proc a few processes at a time, so a tracer can report events
 * while it is still reading /proc (a busy host has thousands of processes, each worth
 * four file reads). The pids are listed once, at construction: create it AFTER the
 * programs are attached, so a process is either listed here or seen forking.
 *
 * Invariant (what keeps partial seeding correct): every process in the table has its
 * ancestors in the table too, or they were never readable. ensure() keeps it for the
 * processes an event is about, reading them (and the still-unread ancestors, parents
 * first) before the event is applied; step() reads the rest in the background the
 * same way. A pid already in the table when its turn comes was created by an event
 * (a fork after attach): that entry is newer than /proc's, so it is left alone.
 */
export class ProcSeeder {
  private readonly pending: Set<number>;
  private readonly files = new ProcFileReader();
  /** Processes read from /proc and added. */
  added = 0;

  constructor(
    private readonly table: ProcessTable,
    private readonly procRoot = "/proc",
  ) {
    this.pending = new Set(listPids(procRoot));
  }

  /** Every listed process has been read (or found gone). */
  get done(): boolean {
    return this.pending.size === 0;
  }

  /** Makes sure `pid` and its ancestors are in the table, reading those still pending. */
  ensure(pid: number): void {
    if (this.pending.size === 0) return;
    const chain: ProcessInfo[] = [];
    let p = pid;
    // An unlisted pid, or one already read or created by an event, has its ancestors
    // in place already (the invariant above): stop there.
    while (this.pending.delete(p) && !this.table.has(p)) {
      const info = readProcessInfo(p, this.procRoot, this.files);
      if (!info) break;
      chain.push(info);
      p = info.ppid;
    }
    for (let i = chain.length - 1; i >= 0; i--) this.insert(chain[i] as ProcessInfo);
  }

  /** Reads up to `max` pending processes (with their ancestors); returns done. */
  step(max: number): boolean {
    let n = 0;
    for (const pid of this.pending) {
      if (n++ >= max) break;
      this.ensure(pid);
    }
    return this.done;
  }

  /** Reads everything still pending. */
  finish(): void {
    this.step(Number.POSITIVE_INFINITY);
  }

  private insert(i: ProcessInfo): void {
    // Parents go in first, so the parent's exec_id is known here when it was readable.
    this.table.upsert({
      pid: i.pid,
      ppid: i.ppid,
      exec_id: i.exec_id,
      parent_exec_id: this.table.get(i.ppid)?.exec_id ?? "",
      comm: i.comm,
      filename: i.exe,
      exe: i.exe || undefined,
      argv: i.argv,
      uid: i.uid,
      gid: i.gid,
      start_ticks: i.start_ticks,
      threads: i.threads,
      preexisting: true,
    });
    this.added++;
  }
}

/**
 * Adds every process under procRoot to the table at once, marked `preexisting`, with
 * exec_id/parent_exec_id in the same "<tgid>-<ticks>" form the BPF side reports.
 * Returns how many were added.
 */
export function seedFromProc(table: ProcessTable, procRoot = "/proc"): number {
  const seeder = new ProcSeeder(table, procRoot);
  seeder.finish();
  return seeder.added;
}
