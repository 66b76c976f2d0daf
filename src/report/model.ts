// Events → processes: the one model both the HTML timeline and the Perfetto export draw.
// Pure. A process is keyed by exec_id ("<tgid>-<start ticks>", unique across pid reuse,
// docs/events.md); it starts at its fork when the fork was seen, else at exit time minus
// lifetime_ns, else at its first event, and ends at its (non-thread) exit or, if none
// was seen, is still running at the end of the trace.
import { parseTimeUs, type RawEvent } from "./parse.ts";

export type Outcome = "ok" | "fail" | "signal" | "core" | "running";

/** Fields every event repeats about its task; kept once per process (`ident`). */
const IDENT_FIELDS = [
  "pid",
  "tid",
  "ppid",
  "uid",
  "gid",
  "comm",
  "exec_id",
  "parent_exec_id",
  "cgroup_id",
  "pidns",
  "ns_pid",
] as const;

export interface ProcessRec {
  /** exec_id */
  id: string;
  pid: number;
  /** Index of the parent in Trace.processes, -1 for a root (parent not in the trace). */
  parent: number;
  /** parent_exec_id as reported ("" when none). */
  parentId: string;
  /** µs since Trace.t0; negative when the process started before the first event. */
  start: number;
  startFrom: "fork" | "lifetime" | "first_event";
  /** µs since Trace.t0, null while still running when the trace ended. */
  end: number | null;
  comm: string;
  /** The argv of its last exec (or of its exit record), [] if none was seen. */
  argv: string[];
  filename: string;
  outcome: Outcome;
  exitCode: number | null;
  signalName: string | null;
  /** µs of every exec (an image boundary), in order. */
  execs: number[];
  /** µs of every failed exec. */
  failedExecs: number[];
  /** Indices into Trace.alerts raised for this process. */
  alerts: number[];
  /** Threads created (fork events with thread: true). */
  threads: number;
  /** The common fields as first seen. */
  ident: Record<string, unknown>;
  /** Each event about this process: `event`, `time` and the fields that differ from ident. */
  events: Record<string, unknown>[];
}

export interface AlertRec {
  t: number;
  proc: number;
  rule: string;
  severity: string;
  description: string;
  reason: string;
  filename: string;
}

export interface LostRec {
  t: number;
  count: number;
  kind: string;
}

export interface Trace {
  /** Epoch µs of the first event; every time in the model is relative to it. */
  t0: number;
  t0Iso: string;
  /** µs from t0 to the last event. */
  duration: number;
  /** Sorted by start, then exec_id: parents come before their children. */
  processes: ProcessRec[];
  alerts: AlertRec[];
  lost: LostRec[];
  /** Events per kind, as read. */
  eventCounts: Record<string, number>;
}

interface Draft extends Omit<ProcessRec, "parent" | "start" | "startFrom"> {
  forkAt?: number;
  firstAt: number;
  lifetimeNs?: number;
}

const str = (v: unknown): string =>
  typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const strArr = (v: unknown): string[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : null;

export function buildTrace(events: RawEvent[]): Trace {
  const times = events.map((e) => parseTimeUs(e.time) as number);
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < t0) t0 = t;
    if (t > t1) t1 = t;
  }
  if (events.length === 0) t0 = t1 = 0;

  const drafts = new Map<string, Draft>();
  /** Forks whose child_exec_id was not reported: child pid → fork time and parent. */
  const pendingForks = new Map<number, { t: number; parentId: string }>();
  const alerts: (AlertRec & { procId: string })[] = [];
  const lost: LostRec[] = [];
  const eventCounts: Record<string, number> = {};

  const newDraft = (id: string, pid: number, ident: Record<string, unknown>, t: number): Draft => {
    const d: Draft = {
      id,
      pid,
      parentId: str(ident.parent_exec_id),
      end: null,
      comm: str(ident.comm),
      argv: [],
      filename: "",
      outcome: "running",
      exitCode: null,
      signalName: null,
      execs: [],
      failedExecs: [],
      alerts: [],
      threads: 0,
      ident,
      events: [],
      firstAt: t,
    };
    drafts.set(id, d);
    return d;
  };

  const draftOf = (ev: RawEvent, t: number): Draft => {
    const id = str(ev.exec_id) || `${str(ev.pid)}-?`;
    let d = drafts.get(id);
    if (!d) {
      const ident: Record<string, unknown> = {};
      for (const f of IDENT_FIELDS) if (ev[f] !== undefined) ident[f] = ev[f];
      d = newDraft(id, num(ev.pid) ?? 0, ident, t);
      const pf = pendingForks.get(d.pid);
      if (pf && pf.parentId === d.parentId) {
        d.forkAt = pf.t;
        pendingForks.delete(d.pid);
      }
    }
    if (t < d.firstAt) d.firstAt = t;
    return d;
  };

  /** A child known from its parent's fork (it may never produce an event of its own). */
  const childOf = (parent: Draft, ev: RawEvent, id: string, pid: number, t: number): Draft => {
    const ident: Record<string, unknown> = { pid, ppid: parent.pid, comm: parent.comm };
    if (!id.endsWith("-?")) ident.exec_id = id;
    ident.parent_exec_id = parent.id;
    for (const f of ["uid", "gid", "cgroup_id"] as const) if (ev[f] !== undefined) ident[f] = ev[f];
    return newDraft(id, pid, ident, t);
  };

  const record = (d: Draft, ev: RawEvent, t: number) => {
    const rec: Record<string, unknown> = { event: ev.event, time: ev.time, t: t - t0 };
    for (const [k, v] of Object.entries(ev)) {
      if (k === "event" || k === "time") continue;
      if (k in d.ident && sameValue(d.ident[k], v)) continue;
      rec[k] = v;
    }
    d.events.push(rec);
  };

  for (let i = 0; i < events.length; i++) {
    const ev = events[i] as RawEvent;
    const t = times[i] as number;
    eventCounts[ev.event] = (eventCounts[ev.event] ?? 0) + 1;
    switch (ev.event) {
      case "fork": {
        const parent = draftOf(ev, t);
        if (ev.thread === true) {
          parent.threads++;
          break;
        }
        const childId = str(ev.child_exec_id);
        const childPid = num(ev.child_pid) ?? 0;
        if (childId) {
          const child = drafts.get(childId) ?? childOf(parent, ev, childId, childPid, t);
          child.forkAt = t;
        } else pendingForks.set(childPid, { t, parentId: parent.id });
        break;
      }
      case "exec": {
        const d = draftOf(ev, t);
        d.execs.push(t - t0);
        d.argv = strArr(ev.argv) ?? d.argv;
        d.filename = str(ev.filename);
        d.comm = str(ev.comm) || d.comm;
        record(d, ev, t);
        break;
      }
      case "exec_failed": {
        const d = draftOf(ev, t);
        d.failedExecs.push(t - t0);
        record(d, ev, t);
        break;
      }
      case "exit": {
        if (ev.thread === true) break;
        const d = draftOf(ev, t);
        d.end = t - t0;
        d.comm = str(ev.comm) || d.comm;
        // Newer streams repeat the image on the exit record (docs/events.md): use it
        // when the exec itself was not seen (a process older than the trace).
        if (d.argv.length === 0) d.argv = strArr(ev.argv) ?? [];
        if (!d.filename) d.filename = str(ev.filename);
        d.exitCode = num(ev.exit_code);
        d.signalName = typeof ev.signal_name === "string" ? ev.signal_name : null;
        d.outcome =
          ev.core_dumped === true
            ? "core"
            : num(ev.signal) !== null
              ? "signal"
              : (d.exitCode ?? 0) !== 0
                ? "fail"
                : "ok";
        const life = num(ev.lifetime_ns);
        if (life !== null) d.lifetimeNs = life;
        record(d, ev, t);
        break;
      }
      case "alert": {
        const d = draftOf(ev, t);
        alerts.push({
          t: t - t0,
          proc: -1,
          procId: d.id,
          rule: str(ev.rule),
          severity: str(ev.severity),
          description: str(ev.description),
          reason: str(ev.reason),
          filename: str(ev.filename),
        });
        record(d, ev, t);
        break;
      }
      case "lost":
        lost.push({ t: t - t0, count: num(ev.count) ?? 0, kind: str(ev.kind) });
        break;
      default:
        // An event kind this reader does not know: counted, not drawn.
        break;
    }
  }

  // Forks without child_exec_id whose child never produced an event: still processes.
  for (const [pid, pf] of pendingForks) {
    const parent = drafts.get(pf.parentId);
    if (!parent || drafts.has(`${pid}-?`)) continue;
    childOf(parent, {} as RawEvent, `${pid}-?`, pid, pf.t).forkAt = pf.t;
  }

  const list = [...drafts.values()].map((d) => {
    const forkAt = d.forkAt;
    let start: number;
    let startFrom: ProcessRec["startFrom"];
    if (forkAt !== undefined) {
      start = forkAt - t0;
      startFrom = "fork";
    } else if (d.lifetimeNs !== undefined && d.end !== null) {
      start = Math.min(d.end - d.lifetimeNs / 1000, d.firstAt - t0);
      startFrom = "lifetime";
    } else {
      start = d.firstAt - t0;
      startFrom = "first_event";
    }
    const { forkAt: _f, firstAt: _a, lifetimeNs: _l, ...rest } = d;
    return { ...rest, parent: -1, start, startFrom } satisfies ProcessRec;
  });
  list.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const index = new Map(list.map((p, i) => [p.id, i]));
  for (const p of list) p.parent = index.get(p.parentId) ?? -1;
  breakCycles(list);
  const outAlerts = alerts.map(({ procId, ...a }) => ({ ...a, proc: index.get(procId) ?? -1 }));
  outAlerts.forEach((a, i) => {
    if (a.proc >= 0) list[a.proc]?.alerts.push(i);
  });

  return {
    t0,
    t0Iso: events.length ? new Date(Math.floor(t0 / 1000)).toISOString() : "",
    duration: t1 - t0,
    processes: list,
    alerts: outAlerts,
    lost,
    eventCounts,
  };
}

/**
 * A file can claim any parent links; a loop (A's parent is B, B's is A) would make every
 * tree walk spin. The first process found on a loop becomes a root.
 */
function breakCycles(list: ProcessRec[]): void {
  const state = new Uint8Array(list.length); // 0 unseen, 1 on the current walk, 2 done
  for (let i = 0; i < list.length; i++) {
    const path: number[] = [];
    let j = i;
    while (j >= 0 && state[j] === 0) {
      state[j] = 1;
      path.push(j);
      j = (list[j] as ProcessRec).parent;
    }
    if (j >= 0 && state[j] === 1) (list[j] as ProcessRec).parent = -1;
    for (const k of path) state[k] = 2;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === "object" && JSON.stringify(a) === JSON.stringify(b));
}

/** The argv a process shows: its last exec's, else the one on its exit record. */
export function argvOf(events: readonly Record<string, unknown>[]): string[] | undefined {
  let exitArgv: string[] | undefined;
  for (let k = events.length - 1; k >= 0; k--) {
    const e = events[k] as Record<string, unknown>;
    if (e.event === "exec" && Array.isArray(e.argv)) return e.argv as string[];
    if (e.event === "exit" && Array.isArray(e.argv)) exitArgv ??= e.argv as string[];
  }
  return exitArgv;
}

/** End of a process for drawing and durations: its exit, or the end of the trace. */
export function endOf(p: ProcessRec, trace: Trace): number {
  return p.end ?? trace.duration;
}
