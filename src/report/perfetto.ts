// Trace → Chrome Trace Event Format JSON (the "JSON Object Format" of the Trace Event
// Format document, which ui.perfetto.dev and chrome://tracing import).
//   - each process is a track: its own pid, with process_name "comm pid" and
//     process_sort_index in tree order, so children sit right under their parent;
//   - a "process" complete slice (ph X) spans fork → exit on its main thread, and one
//     slice per exec image nests inside it (exec → next exec or exit);
//   - the parent relationship is a flow arrow (ph s → f) from the parent's track at the
//     fork to the child's process slice, and the parent is named in the child's args;
//   - alerts are instant events (ph i) on the process's track, lost events global ones.
// Timestamps are microseconds since the first event (Trace.t0).
import { endOf, type ProcessRec, type Trace } from "./model.ts";
import { buildTree, rowOrder } from "./tree.ts";

export interface TraceEventJson {
  traceEvents: Record<string, unknown>[];
  displayTimeUnit: "ms";
  otherData: Record<string, string>;
}

const round = (us: number) => Math.round(us * 1000) / 1000;

function basename(path: string): string {
  const i = path.lastIndexOf("/");
  return i === -1 ? path : path.slice(i + 1);
}

/** Track pids: the real pid, unless a reused pid already names an earlier process. */
function trackPids(ps: readonly ProcessRec[]): number[] {
  const used = new Set<number>();
  let next = 0x4000_0000; // above PID_MAX_LIMIT (4M): cannot collide with a real pid
  return ps.map((p) => {
    let pid = p.pid > 0 ? p.pid : next++;
    if (used.has(pid)) pid = next++;
    used.add(pid);
    return pid;
  });
}

export function toTraceEvents(trace: Trace): TraceEventJson {
  const ps = trace.processes;
  const tree = buildTree(ps);
  const { order } = rowOrder(tree);
  const pids = trackPids(ps);
  const ev: Record<string, unknown>[] = [];
  const name = (p: ProcessRec) => `${p.comm || basename(p.filename) || "?"} ${p.pid}`;

  order.forEach((i, row) => {
    const p = ps[i] as ProcessRec;
    const pid = pids[i] as number;
    const parent = p.parent >= 0 ? (ps[p.parent] as ProcessRec) : undefined;
    ev.push({ ph: "M", name: "process_name", pid, tid: pid, args: { name: name(p) } });
    ev.push({ ph: "M", name: "process_sort_index", pid, tid: pid, args: { sort_index: row } });
    ev.push({ ph: "M", name: "thread_name", pid, tid: pid, args: { name: p.comm || String(p.pid) } });
    // Slices are clipped to the trace: a process older than the first event starts at 0.
    const start = Math.max(p.start, 0);
    const end = Math.max(endOf(p, trace), start);
    ev.push({
      ph: "X",
      cat: "process",
      name: p.argv[0] ? basename(p.argv[0]) : p.comm || "?",
      pid,
      tid: pid,
      ts: round(start),
      dur: round(end - start),
      args: {
        exec_id: p.id,
        pid: p.pid,
        parent_exec_id: p.parentId,
        parent: parent ? name(parent) : null,
        argv: p.argv,
        outcome: p.outcome,
        exit_code: p.exitCode,
        signal: p.signalName,
        started: p.startFrom === "fork" ? "fork" : p.start < 0 ? "before the trace" : p.startFrom,
        ...p.ident,
      },
    });
    const execs = p.events.filter((e) => e.event === "exec");
    execs.forEach((e, k) => {
      const t = Math.min(Math.max(e.t as number, start), end);
      const next = k + 1 < execs.length ? ((execs[k + 1] as Record<string, unknown>).t as number) : end;
      const argv = Array.isArray(e.argv) ? (e.argv as string[]) : [];
      ev.push({
        ph: "X",
        cat: "exec",
        name: basename(typeof e.filename === "string" ? e.filename : (argv[0] ?? "exec")),
        pid,
        tid: pid,
        ts: round(t),
        dur: round(Math.max(Math.min(next, end) - t, 0)),
        args: { ...e },
      });
    });
    for (const e of p.events) {
      if (e.event !== "exec_failed" && e.event !== "exit") continue;
      ev.push({
        ph: "i",
        s: "t",
        cat: e.event,
        name: e.event === "exit" ? `exit ${exitText(p)}` : `exec failed: ${String(e.error ?? e.errno)}`,
        pid,
        tid: pid,
        ts: round(Math.min(Math.max(e.t as number, start), end)),
        args: { ...e },
      });
    }
    if (parent && p.startFrom === "fork") {
      // Flow v1: the start binds to the parent's enclosing slice at the fork, the finish
      // ("bp":"e") to the child's slice that begins at the same instant.
      const ppid = pids[p.parent] as number;
      const id = i + 1;
      ev.push({ ph: "s", cat: "fork", name: "fork", id, pid: ppid, tid: ppid, ts: round(start) });
      ev.push({ ph: "f", bp: "e", cat: "fork", name: "fork", id, pid, tid: pid, ts: round(start) });
    }
  });
  for (const a of trace.alerts) {
    const pid = a.proc >= 0 ? (pids[a.proc] as number) : 0;
    ev.push({
      ph: "i",
      s: a.proc >= 0 ? "t" : "g",
      cat: "alert",
      name: `alert: ${a.rule}`,
      pid,
      tid: pid,
      ts: round(Math.max(a.t, 0)),
      args: { ...a },
    });
  }
  for (const l of trace.lost) {
    ev.push({
      ph: "i",
      s: "g",
      cat: "lost",
      name: `lost ${l.count} ${l.kind}`,
      pid: 0,
      tid: 0,
      ts: round(Math.max(l.t, 0)),
      args: { ...l },
    });
  }
  return {
    traceEvents: ev,
    displayTimeUnit: "ms",
    otherData: { generator: "tsbpf report", trace_start: trace.t0Iso },
  };
}

function exitText(p: ProcessRec): string {
  if (p.outcome === "core") return `${p.signalName ?? "signal"} (core dumped)`;
  if (p.outcome === "signal") return p.signalName ?? "signal";
  return String(p.exitCode ?? "?");
}
