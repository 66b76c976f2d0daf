// User-space event filters: what `trace` and `replay` let through to their outputs and
// their summary. The kernel already filtered by pid tree, uid, cgroup and pid
// namespace; these are the ones the kernel cannot apply (a comm glob on every event
// kind, alerts, failed exits) or, for a recording, apply again (pid tree, time window).

import type { TraceEvent } from "./events.ts";
import { compileGlob, type Matcher } from "./glob.ts";

/** Options of EventFilter: the user-space filters of `tsbpf trace` (--comm, --alerts-only, ...). */
export interface EventFilterOptions {
  /** Only events whose comm matches (a RegExp, or a glob such as "py*"). Lost reports always pass. */
  comm?: Matcher | string;
  /** Only alerts and lost-event reports. */
  alertsOnly?: boolean;
  /**
   * Only failed process exits (a non-zero exit code or death by a signal, as exitsnoop
   * -x), failed execs, alerts and lost-event reports: the answer to "what failed".
   */
  exitFailed?: boolean;
  /** Only these processes and their descendants (followed through fork events). */
  pids?: readonly number[];
  /** Only events at or after this time (ms since the epoch). */
  since?: number;
  /** Only events before this time (ms since the epoch). */
  until?: number;
}

/** True for a process exit with a non-zero exit code or a terminating signal. */
export function isFailedExit(ev: TraceEvent): boolean {
  return ev.event === "exit" && ev.thread !== true && (ev.exit_code !== 0 || ev.signal !== null);
}

/** Decides which events reach the sinks, after the kernel's own filters. */
export class EventFilter {
  private readonly comm: Matcher | undefined;
  private readonly scope: Set<number> | undefined;
  /** True when the filter can drop anything (a summary then counts only what passed). */
  readonly active: boolean;

  constructor(private readonly o: EventFilterOptions = {}) {
    this.comm = typeof o.comm === "string" ? compileGlob(o.comm, false) : o.comm;
    this.scope = o.pids ? new Set(o.pids) : undefined;
    this.active =
      this.comm !== undefined ||
      o.alertsOnly === true ||
      o.exitFailed === true ||
      this.scope !== undefined ||
      o.since !== undefined ||
      o.until !== undefined;
  }

  /**
   * Whether `ev` passes. Call it on every event in stream order, also those that end up
   * dropped: the pid scope follows forks.
   */
  pass(ev: TraceEvent): boolean {
    if (!this.active) return true;
    const scope = this.scope;
    if (scope !== undefined && ev.event !== "lost") {
      if (!scope.has(ev.pid)) return false;
      if (ev.event === "fork" && !ev.thread) scope.add(ev.child_pid);
    }
    if (this.o.since !== undefined || this.o.until !== undefined) {
      const t = Date.parse(ev.time);
      if (this.o.since !== undefined && !(t >= this.o.since)) return false;
      if (this.o.until !== undefined && !(t < this.o.until)) return false;
    }
    if (ev.event === "lost") return true;
    if (this.o.alertsOnly && ev.event !== "alert") return false;
    if (this.o.exitFailed && ev.event !== "alert" && ev.event !== "exec_failed" && !isFailedExit(ev))
      return false;
    if (this.comm && !this.comm.test(ev.comm)) return false;
    return true;
  }
}
