// The table's entry objects (see process-table.ts): their types, the one place they
// are built, and the warm-up that fixes their field representations at load.
export interface ExitInfo {
  time: string;
  /** Date.parse(time), used for pruning. */
  timeMs: number;
  exit_code: number;
  signal: number | null;
  signal_name: string | null;
  core_dumped: boolean;
  lifetime_ns: number;
}

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** "" until an event or /proc tells us the start time. */
  exec_id: string;
  parent_exec_id: string;
  comm: string;
  /** Executable of the current image ("" if unknown, e.g. a forked child before exec). */
  filename: string;
  exe?: string;
  argv: string[];
  argv_truncated: boolean;
  uid: number;
  gid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22), if known. */
  start_ticks?: number;
  children: Set<number>;
  /** Existed before the trace started (seeded from /proc). */
  preexisting: boolean;
  /** Number of exec events seen for this process during the trace. */
  execs: number;
  /** Live threads, including the leader. */
  threads: number;
  /** ISO time of the first event that showed this process. */
  first_seen?: string;
  exited?: ExitInfo;
  cgroup_id?: number;
  pidns?: number;
  ns_pid?: number;
}

/**
 * The children set of every entry that has none: most processes of a fork storm never
 * fork, and a Set per entry was a large part of the table's memory and allocation.
 * link() gives an entry its own set on its first child; this one stays empty
 * (ChildlessSet.add throws, so a caller adding to it directly fails loudly).
 */
class ChildlessSet extends Set<number> {
  override add(_: number): this {
    throw new Error(
      "ProcessTable: add children through the table (link), not to an entry's shared empty set",
    );
  }
}
export const NO_CHILDREN: Set<number> = new ChildlessSet();
/** argv of entries that never had one (shared, never mutated: exec replaces the array). */
export const NO_ARGV: string[] = Object.freeze([]) as unknown as string[];

/**
 * Every entry comes from this one literal, fields always in the same order (absent
 * optional ones as undefined): entries of different shapes made apply/touch/prune
 * polymorphic, and V8 deoptimized and recompiled them over and over in a fork storm.
 */
export function newEntry(
  pid: number,
  ppid: number,
  exec_id: string,
  parent_exec_id: string,
  comm: string,
  filename: string,
  exe: string | undefined,
  argv: string[],
  argv_truncated: boolean,
  uid: number,
  gid: number,
  start_ticks: number | undefined,
  preexisting: boolean,
  execs: number,
  threads: number,
  first_seen: string | undefined,
  exited: ExitInfo | undefined,
  cgroup_id: number | undefined,
  pidns: number | undefined,
  ns_pid: number | undefined,
): ProcessEntry {
  return {
    pid,
    ppid,
    exec_id,
    parent_exec_id,
    comm,
    filename,
    exe,
    argv,
    argv_truncated,
    uid,
    gid,
    start_ticks,
    children: NO_CHILDREN,
    preexisting,
    execs,
    threads,
    first_seen,
    exited,
    cgroup_id,
    pidns,
    ns_pid,
  };
}

export function newExitInfo(
  time: string,
  timeMs: number,
  exit_code: number,
  signal: number | null,
  signal_name: string | null,
  core_dumped: boolean,
  lifetime_ns: number,
): ExitInfo {
  return { time, timeMs, exit_code, signal, signal_name, core_dumped, lifetime_ns };
}

/**
 * Settles the field representations of the two shapes above before any code using
 * them is optimized. V8 picks a field's representation (small int, double, pointer)
 * and type from the first values stored and widens it when another kind arrives
 * (undefined then a number, a small int then a double, null then a number): each
 * widening deoptimizes every optimized function that relied on it ("wrong map",
 * "code dependencies"). In a trace those first arrive at random times (the first
 * process with a start time > 2^31 ticks, the first exit by a signal, the first
 * lifetime over 2.1 s), often in the middle of a storm, when recompiling costs most.
 * Storing each kind once here, at load, widens them all up front.
 */
function primeShapes(): void {
  const a = newEntry(
    1,
    0,
    "",
    "",
    "",
    "",
    undefined,
    NO_ARGV,
    false,
    -1,
    -1,
    undefined,
    false,
    0,
    1,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  );
  const b = newEntry(
    2,
    1,
    "2-1",
    "",
    "x",
    "/x",
    "/x",
    ["x"],
    true,
    0,
    0,
    1,
    true,
    1,
    2,
    "t",
    undefined,
    1,
    1,
    1,
  );
  for (const e of [a, b]) {
    e.start_ticks = 2 ** 40;
    e.start_ticks = 1;
    e.start_ticks = undefined;
    e.exe = "/x";
    e.exe = undefined;
    e.first_seen = "t";
    e.first_seen = undefined;
    e.cgroup_id = 2 ** 40;
    e.cgroup_id = 1;
    e.cgroup_id = undefined;
    e.pidns = 2 ** 40;
    e.pidns = 1;
    e.pidns = undefined;
    e.ns_pid = 2 ** 40;
    e.ns_pid = 1;
    e.ns_pid = undefined;
    e.argv = ["x"];
    e.argv = NO_ARGV;
    e.children = new Set();
    e.children = NO_CHILDREN;
    e.exited = newExitInfo("t", 1.5, 0, null, null, false, 1);
    e.exited = newExitInfo("t", 1, 1, 9, "SIGKILL", true, 2 ** 40);
    e.exited = undefined;
  }
}

primeShapes();
