// The tracer's view of every process it knows about, built from the event stream (and
// seeded from /proc for processes that existed before tracing started). Keyed by pid
// (= tgid). Memory is bounded: exited processes are pruned after a grace period and a
// hard cap evicts the oldest exited entries first, so a fork storm cannot grow it.
import type { TraceEvent } from "./events.ts";
import { eventTimeMs, execIdTicks } from "./events.ts";

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

export interface ProcessTableOptions {
  /** Hard bound on entries (default 65,536). */
  maxEntries?: number;
  /** How long exited processes stay visible, in ms (default 5000). */
  graceMs?: number;
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
const NO_CHILDREN: Set<number> = new ChildlessSet();
/** argv of entries that never had one (shared, never mutated: exec replaces the array). */
const NO_ARGV: string[] = Object.freeze([]) as unknown as string[];

/** Maximum ancestry walk, a guard against cycles from inconsistent input. */
const MAX_DEPTH = 4096;

export class ProcessTable {
  readonly maxEntries: number;
  readonly graceMs: number;
  private readonly procs = new Map<number, ProcessEntry>();
  /** Exited pids in exit order: the eviction queue. */
  private readonly exitedOrder = new Map<number, number>();

  constructor(opts: ProcessTableOptions = {}) {
    this.maxEntries = Math.max(16, opts.maxEntries ?? 65_536);
    this.graceMs = opts.graceMs ?? 5000;
  }

  get size(): number {
    return this.procs.size;
  }

  get(pid: number): ProcessEntry | undefined {
    return this.procs.get(pid);
  }

  has(pid: number): boolean {
    return this.procs.has(pid);
  }

  entries(): IterableIterator<ProcessEntry> {
    return this.procs.values();
  }

  /** Inserts (or replaces) an entry, e.g. one read from /proc; links it to its parent. */
  upsert(init: Partial<ProcessEntry> & { pid: number; ppid: number }): ProcessEntry {
    this.remove(init.pid);
    // Every entry is built with the same properties in the same order (absent optional
    // fields as undefined), so the table's hot functions see one object shape: entries
    // spread from differently-shaped inits made apply/touch/prune polymorphic, and V8
    // deoptimized and recompiled them over and over during a fork storm.
    const e: ProcessEntry = {
      pid: init.pid,
      ppid: init.ppid,
      exec_id: init.exec_id ?? "",
      parent_exec_id: init.parent_exec_id ?? "",
      comm: init.comm ?? "",
      filename: init.filename ?? "",
      exe: init.exe,
      argv: init.argv ?? NO_ARGV,
      argv_truncated: init.argv_truncated ?? false,
      uid: init.uid ?? -1,
      gid: init.gid ?? -1,
      start_ticks: init.start_ticks,
      children: NO_CHILDREN,
      preexisting: init.preexisting ?? false,
      execs: init.execs ?? 0,
      threads: init.threads ?? 1,
      first_seen: init.first_seen,
      exited: init.exited,
      cgroup_id: init.cgroup_id,
      pidns: init.pidns,
      ns_pid: init.ns_pid,
    };
    if (e.start_ticks === undefined && e.exec_id) e.start_ticks = execIdTicks(e.exec_id);
    this.procs.set(e.pid, e);
    this.link(e);
    this.enforceCap();
    return e;
  }

  /** Updates the table from one event. Never throws on unknown or inconsistent pids. */
  apply(ev: TraceEvent): void {
    switch (ev.event) {
      case "fork": {
        const parent = this.touch(ev);
        if (ev.thread) {
          parent.threads += 1;
          return;
        }
        this.upsert({
          pid: ev.child_pid,
          ppid: ev.pid,
          exec_id: ev.child_exec_id ?? "",
          parent_exec_id: parent.exec_id,
          comm: parent.comm,
          filename: parent.filename,
          exe: parent.exe,
          argv: parent.argv,
          argv_truncated: parent.argv_truncated,
          uid: parent.uid,
          gid: parent.gid,
          first_seen: ev.time,
          cgroup_id: parent.cgroup_id,
          pidns: parent.pidns,
        });
        return;
      }
      case "exec": {
        const e = this.touch(ev);
        e.filename = ev.filename;
        e.exe = ev.exe;
        e.argv = ev.argv;
        e.argv_truncated = ev.argv_truncated;
        e.execs += 1;
        // execve kills every other thread of the group (fs/exec.c de_thread()); when a
        // non-leader thread execs it takes over the tgid, so the pid stays the same.
        e.threads = 1;
        return;
      }
      case "exec_failed":
      case "alert":
        this.touch(ev);
        return;
      case "exit": {
        const e = this.touch(ev);
        // sched_process_exit fires per thread; only the group's last exit is the process's.
        if (ev.thread) {
          e.threads = Math.max(1, e.threads - 1);
          return;
        }
        const timeMs = eventTimeMs(ev);
        // Only an entry that already exited is in exitedOrder (a repeated exit): the
        // delete, a miss for every other exit, showed up in a fork storm's profile.
        if (e.exited !== undefined) this.exitedOrder.delete(e.pid);
        e.threads = 0;
        e.exited = {
          time: ev.time,
          timeMs: Number.isFinite(timeMs) ? timeMs : Date.now(),
          exit_code: ev.exit_code,
          signal: ev.signal,
          signal_name: ev.signal_name,
          core_dumped: ev.core_dumped,
          lifetime_ns: ev.lifetime_ns,
        };
        this.exitedOrder.set(e.pid, e.exited.timeMs);
        return;
      }
      case "lost":
        return;
    }
  }

  /** Rebuilds every children set from ppid (after bulk upserts in arbitrary order). */
  relink(): void {
    for (const e of this.procs.values()) e.children = NO_CHILDREN;
    for (const e of this.procs.values()) this.link(e);
  }

  /** The entry's parents up to the root (init or the first unknown pid), nearest first. */
  ancestry(pid: number): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    const seen = new Set<number>([pid]);
    let cur = this.procs.get(pid);
    while (cur && out.length < MAX_DEPTH) {
      const p = cur.ppid;
      if (p <= 0 || seen.has(p)) break;
      seen.add(p);
      cur = this.procs.get(p);
      if (cur) out.push(cur);
    }
    return out;
  }

  children(pid: number): ProcessEntry[] {
    const e = this.procs.get(pid);
    if (!e) return [];
    const out: ProcessEntry[] = [];
    for (const c of e.children) {
      const ce = this.procs.get(c);
      if (ce) out.push(ce);
    }
    return out.sort((a, b) => a.pid - b.pid);
  }

  /** Every descendant, breadth first. */
  descendantsOf(pid: number): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    const seen = new Set<number>([pid]);
    const queue = [pid];
    for (let i = 0; i < queue.length; i++) {
      for (const c of this.children(queue[i])) {
        if (seen.has(c.pid)) continue;
        seen.add(c.pid);
        out.push(c);
        queue.push(c.pid);
      }
    }
    return out;
  }

  /** Entries whose parent is not in the table (the tops of the forest). */
  roots(): ProcessEntry[] {
    const out: ProcessEntry[] = [];
    for (const e of this.procs.values()) {
      const p = this.procs.get(e.ppid);
      if (!p || e.ppid === e.pid || !p.children.has(e.pid)) out.push(e);
    }
    return out.sort((a, b) => a.pid - b.pid);
  }

  /**
   * Removes processes that exited more than graceMs before `now` (ms since epoch) and
   * have no live descendant left to show under them. Returns the number removed.
   */
  prune(now: number = Date.now()): number {
    let removed = 0;
    for (const [pid, t] of this.exitedOrder) {
      if (t + this.graceMs > now) continue;
      if (this.hasLiveChild(pid)) continue;
      this.remove(pid);
      removed++;
    }
    return removed;
  }

  /** Drops one entry and unlinks it from its parent; its children become roots. */
  remove(pid: number): void {
    const e = this.procs.get(pid);
    if (!e) return;
    this.procs.delete(pid);
    this.exitedOrder.delete(pid);
    const p = this.procs.get(e.ppid);
    p?.children.delete(pid);
  }

  private hasLiveChild(pid: number): boolean {
    const e = this.procs.get(pid);
    if (!e) return false;
    for (const c of e.children) {
      const ce = this.procs.get(c);
      if (ce && !ce.exited) return true;
    }
    return false;
  }

  private link(e: ProcessEntry): void {
    if (e.ppid === e.pid) return;
    const p = this.procs.get(e.ppid);
    if (!p) return;
    if (p.children === NO_CHILDREN) p.children = new Set();
    p.children.add(e.pid);
  }

  /** Moves e under a new parent (the kernel reparented it: the old one exited). */
  private reparent(e: ProcessEntry, ppid: number, parentExecId: string): void {
    if (e.ppid !== ppid) {
      this.procs.get(e.ppid)?.children.delete(e.pid);
      e.ppid = ppid;
      this.link(e);
    }
    if (parentExecId) e.parent_exec_id = parentExecId;
  }

  /**
   * Finds or creates the entry an event is about, and refreshes the fields every event
   * carries. A different exec_id for a known pid means the pid was reused while we
   * missed the exit/fork: the old entry is replaced.
   */
  private touch(ev: TraceEvent): ProcessEntry {
    let e = this.procs.get(ev.pid);
    if (e && ev.exec_id && e.exec_id && e.exec_id !== ev.exec_id) {
      this.remove(ev.pid);
      e = undefined;
    }
    if (!e) {
      e = this.upsert({
        pid: ev.pid,
        ppid: ev.ppid,
        exec_id: ev.exec_id,
        parent_exec_id: ev.parent_exec_id,
        comm: ev.comm,
        uid: ev.uid,
        gid: ev.gid,
        first_seen: ev.time,
      });
    } else if (ev.event !== "exit" || !e.exited) {
      this.reparent(e, ev.ppid, ev.parent_exec_id);
    }
    if (!e.exec_id && ev.exec_id) {
      e.exec_id = ev.exec_id;
      e.start_ticks = execIdTicks(ev.exec_id);
    }
    if (ev.comm) e.comm = ev.comm;
    e.uid = ev.uid;
    e.gid = ev.gid;
    if (ev.cgroup_id !== undefined) e.cgroup_id = ev.cgroup_id;
    if (ev.pidns !== undefined) e.pidns = ev.pidns;
    if (ev.ns_pid !== undefined) e.ns_pid = ev.ns_pid;
    return e;
  }

  /** Evicts the oldest exited entries, then (storm of live processes) the oldest entries. */
  private enforceCap(): void {
    if (this.procs.size <= this.maxEntries) return;
    for (const pid of this.exitedOrder.keys()) {
      this.remove(pid);
      if (this.procs.size <= this.maxEntries) return;
    }
    for (const pid of this.procs.keys()) {
      if (pid === 1) continue;
      this.remove(pid);
      if (this.procs.size <= this.maxEntries) return;
    }
  }
}
