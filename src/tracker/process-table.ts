// The tracer's view of every process it knows about, built from the event stream (and
// seeded from /proc for processes that existed before tracing started). Keyed by pid
// (= tgid). Memory is bounded: exited processes are pruned after a grace period and a
// hard cap evicts the oldest exited entries first, so a fork storm cannot grow it.
import type { ExitEvent, ForkEvent, TraceEvent } from "./events.ts";
import { EventTimeParser, execIdTicks } from "./events.ts";
import { NO_ARGV, NO_CHILDREN, newEntry, newExitInfo, type ProcessEntry } from "./process-entry.ts";

export type { ExitInfo, ProcessEntry } from "./process-entry.ts";

export interface ProcessTableOptions {
  /** Hard bound on entries (default 65,536). */
  maxEntries?: number;
  /** How long exited processes stay visible, in ms (default 5000). */
  graceMs?: number;
}

/** Maximum ancestry walk, a guard against cycles from inconsistent input. */
const MAX_DEPTH = 4096;

export class ProcessTable {
  readonly maxEntries: number;
  readonly graceMs: number;
  private readonly procs = new Map<number, ProcessEntry>();
  /** Exited pids in exit order: the eviction queue. */
  private readonly exitedOrder = new Map<number, number>();
  /** Exit times in ms, parsed from the events' time strings once per second of them. */
  private readonly times = new EventTimeParser();

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
    const e = newEntry(
      init.pid,
      init.ppid,
      init.exec_id ?? "",
      init.parent_exec_id ?? "",
      init.comm ?? "",
      init.filename ?? "",
      init.exe,
      init.argv ?? NO_ARGV,
      init.argv_truncated ?? false,
      init.uid ?? -1,
      init.gid ?? -1,
      init.start_ticks,
      init.preexisting ?? false,
      init.execs ?? 0,
      init.threads ?? 1,
      init.first_seen,
      init.exited,
      init.cgroup_id,
      init.pidns,
      init.ns_pid,
    );
    if (e.start_ticks === undefined && e.exec_id) e.start_ticks = execIdTicks(e.exec_id);
    this.procs.set(e.pid, e);
    this.link(e);
    this.enforceCap();
    return e;
  }

  /**
   * A fork's child, built straight from its parent's entry: the per-fork path (one
   * object instead of an init literal copied into the entry, and the parent already
   * in hand for linking). Same result as upsert() with those fields.
   */
  private forkChild(ev: ForkEvent, parent: ProcessEntry): void {
    const pid = ev.child_pid;
    this.remove(pid);
    const execId = ev.child_exec_id ?? "";
    const e = newEntry(
      pid,
      ev.pid,
      execId,
      parent.exec_id,
      parent.comm,
      parent.filename,
      parent.exe,
      parent.argv,
      parent.argv_truncated,
      parent.uid,
      parent.gid,
      execId ? execIdTicks(execId) : undefined,
      false,
      0,
      1,
      ev.time,
      undefined,
      parent.cgroup_id,
      parent.pidns,
      undefined,
    );
    this.procs.set(pid, e);
    // link(e) with the parent known: ev.pid is the entry touch() just returned.
    if (pid !== parent.pid) {
      if (parent.children === NO_CHILDREN) parent.children = new Set();
      parent.children.add(pid);
    }
    this.enforceCap();
  }

  /**
   * Gives an exit what its process ran (filename, argv) from its entry, once the exit
   * is applied: "which child failed" is then answered by the exit alone.
   */
  describeExit(ev: ExitEvent): void {
    const e = this.procs.get(ev.pid);
    if (e === undefined) return;
    ev.filename = e.filename || e.exe || "";
    ev.argv = e.argv;
    ev.argv_truncated = e.argv_truncated;
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
        this.forkChild(ev, parent);
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
        const timeMs = this.times.ms(ev);
        // Only an entry that already exited is in exitedOrder (a repeated exit): the
        // delete, a miss for every other exit, showed up in a fork storm's profile.
        if (e.exited !== undefined) this.exitedOrder.delete(e.pid);
        e.threads = 0;
        e.exited = newExitInfo(
          ev.time,
          Number.isFinite(timeMs) ? timeMs : Date.now(),
          ev.exit_code,
          ev.signal,
          ev.signal_name,
          ev.core_dumped,
          ev.lifetime_ns,
        );
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
    const limit = now - this.graceMs;
    // exitedOrder is in the order the exits were applied, which is kernel order: the
    // exit times (bpf_ktime_get_boot_ns at the exit) only grow along it, up to the few
    // µs by which CPUs race to reserve ring space. So the walk stops at the first exit
    // still inside the grace period instead of visiting every exited entry each time
    // (in a fork storm, ~5 s × the fork rate of them); one that raced ahead is pruned
    // at the next call. Keys and values are read apart: a [pid, t] entry array per
    // exited process was 10% of what the per-event path allocated.
    const it = this.exitedOrder.keys();
    for (let r = it.next(); !r.done; r = it.next()) {
      const pid = r.value;
      if ((this.exitedOrder.get(pid) as number) > limit) break;
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
