// The summary panel's facts: counts, failed and slowest processes, and the critical path.
import { endOf, type Outcome, type Trace } from "./model.ts";
import { buildTree, type Tree } from "./tree.ts";

export interface Summary {
  processes: number;
  forks: number;
  threads: number;
  execs: number;
  execFailed: number;
  outcomes: Record<Outcome, number>;
  alertsBySeverity: Record<string, number>;
  lostByKind: Record<string, number>;
  /** Indices of processes that exited non-zero, by a signal or with a core dump, by start. */
  failed: number[];
  /** The 10 longest-lived processes, longest first. */
  slowest: number[];
  /** Process indices of the critical path, in time order (see criticalPath). */
  critical: number[];
  /** µs the critical path spans (its root's lifetime). */
  criticalSpan: number;
}

export function summarize(trace: Trace, tree: Tree = buildTree(trace.processes)): Summary {
  const ps = trace.processes;
  const outcomes: Record<Outcome, number> = { ok: 0, fail: 0, signal: 0, core: 0, running: 0 };
  const failed: number[] = [];
  let threads = 0;
  let execs = 0;
  let execFailed = 0;
  ps.forEach((p, i) => {
    outcomes[p.outcome]++;
    if (p.outcome === "fail" || p.outcome === "signal" || p.outcome === "core") failed.push(i);
    threads += p.threads;
    execs += p.execs.length;
    execFailed += p.failedExecs.length;
  });
  const durs = Float64Array.from(ps, (p) => endOf(p, trace) - p.start);
  const dur = (i: number) => durs[i] as number;
  const slowest = topIndices(durs, 10);
  const alertsBySeverity: Record<string, number> = {};
  for (const a of trace.alerts) alertsBySeverity[a.severity] = (alertsBySeverity[a.severity] ?? 0) + 1;
  const lostByKind: Record<string, number> = {};
  for (const l of trace.lost) lostByKind[l.kind] = (lostByKind[l.kind] ?? 0) + l.count;
  const critical = criticalPath(trace, tree);
  const head = critical[0];
  return {
    processes: ps.length,
    forks: ps.filter((p) => p.startFrom === "fork").length,
    threads,
    execs,
    execFailed,
    outcomes,
    alertsBySeverity,
    lostByKind,
    failed,
    slowest,
    critical,
    criticalSpan: head === undefined ? 0 : dur(head),
  };
}

/** Indices of the `k` largest values, largest first (ties: lower index first), in O(n·k). */
function topIndices(values: Float64Array, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (top.length === k && v <= (values[top[k - 1] as number] as number)) continue;
    let at = top.length;
    while (at > 0 && (values[top[at - 1] as number] as number) < v) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}

/**
 * The chain of processes that determined the total duration. From the root that lived
 * longest, walk back from its end: the child that ended last (at or before that point)
 * held it up; before that child started, the child that ended last before then did; and
 * so on back to the parent's start. Each chosen child is expanded the same way. For
 * `make -j4` that is make → the compile that finished last → the link, and inside each,
 * the compiler stages the driver waited for. Children that overlap a chosen one ran in
 * parallel with it and did not lengthen the run.
 */
export function criticalPath(trace: Trace, tree: Tree): number[] {
  const ps = trace.processes;
  if (ps.length === 0) return [];
  const end = (i: number) => endOf(ps[i]!, trace);
  const start = (i: number) => ps[i]!.start;
  let root = tree.roots[0] as number;
  for (const r of tree.roots) {
    const span = end(r) - Math.max(start(r), 0);
    const best = end(root) - Math.max(start(root), 0);
    if (span > best) root = r;
  }
  const out: number[] = [];
  // Iterative: (process, still to expand) frames, so a deep chain cannot overflow the stack.
  const stack: number[] = [root];
  while (stack.length) {
    const p = stack.pop() as number;
    out.push(p);
    const kids = [...(tree.children[p] as number[])].sort((a, b) => end(b) - end(a) || a - b);
    let t = end(p);
    const chain: number[] = [];
    for (const c of kids) {
      if (end(c) <= t && end(c) > start(p)) {
        chain.push(c);
        t = start(c);
      }
    }
    // chain runs backwards in time; push so the earliest is expanded first.
    for (const c of chain) stack.push(c);
  }
  return out;
}
