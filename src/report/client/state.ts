// The page's view state: which rows are visible (collapse), what matches the search,
// the time window, the selection. Plain data and functions; no DOM.
import { argvOf, type ProcessRec } from "../model.ts";
import type { ReportPayload } from "../payload.ts";

export interface ViewState {
  data: ReportPayload;
  procs: ProcessRec[];
  children: number[][];
  roots: number[];
  depth: Int32Array;
  collapsed: Uint8Array;
  /** Process index of each visible row, depth-first. */
  rows: Int32Array;
  /** Row of each process, -1 when hidden under a collapsed ancestor. */
  rowOf: Int32Array;
  match: Uint8Array;
  /** 1 when the process or something under it matches (marks collapsed rows). */
  matchBelow: Uint8Array;
  matchCount: number;
  query: string;
  critical: Uint8Array;
  selected: number;
  hover: number;
  /** Visible time window, µs since the trace start. */
  from: number;
  to: number;
  /** End of each process for drawing (its exit, or the end of the trace). */
  end: Float64Array;
  hay: (string | undefined)[];
}

export function createState(data: ReportPayload): ViewState {
  const procs = data.trace.processes;
  const n = procs.length;
  // html.ts leaves out an argv the events give back (argvOf).
  for (const p of procs) if (p.argv.length === 0) p.argv = argvOf(p.events) ?? [];
  const children: number[][] = procs.map(() => []);
  const roots: number[] = [];
  procs.forEach((p, i) => {
    if (p.parent >= 0 && p.parent < n) children[p.parent]?.push(i);
    else roots.push(i);
  });
  const depth = new Int32Array(n);
  const end = new Float64Array(n);
  procs.forEach((p, i) => {
    end[i] = p.end ?? data.trace.duration;
  });
  const critical = new Uint8Array(n);
  for (const i of data.summary.critical) critical[i] = 1;
  const s: ViewState = {
    data,
    procs,
    children,
    roots,
    depth,
    collapsed: new Uint8Array(n),
    rows: new Int32Array(0),
    rowOf: new Int32Array(n),
    match: new Uint8Array(n),
    matchBelow: new Uint8Array(n),
    matchCount: 0,
    query: "",
    critical,
    selected: -1,
    hover: -1,
    from: 0,
    to: 1,
    end,
    hay: new Array(n),
  };
  // Depths once, for the full tree.
  const stack = [...roots];
  while (stack.length) {
    const i = stack.pop() as number;
    for (const c of children[i] as number[]) {
      depth[c] = (depth[i] as number) + 1;
      stack.push(c);
    }
  }
  rebuildRows(s);
  fit(s);
  return s;
}

/** Visible rows after a collapse or expand: depth-first, skipping collapsed subtrees. */
export function rebuildRows(s: ViewState): void {
  const roots = s.roots;
  const rows = new Int32Array(s.procs.length);
  s.rowOf.fill(-1);
  let r = 0;
  const stack: number[] = [];
  for (let k = roots.length - 1; k >= 0; k--) stack.push(roots[k] as number);
  while (stack.length) {
    const i = stack.pop() as number;
    s.rowOf[i] = r;
    rows[r++] = i;
    if (s.collapsed[i]) continue;
    const kids = s.children[i] as number[];
    for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k] as number);
  }
  s.rows = rows.subarray(0, r);
}

export function toggle(s: ViewState, i: number): void {
  if ((s.children[i] as number[]).length === 0) return;
  s.collapsed[i] ^= 1;
  rebuildRows(s);
}

/** Collapses every process with children below `depth` levels (0: only the roots show). */
export function collapseBelow(s: ViewState, depth: number): void {
  s.procs.forEach((_, i) => {
    s.collapsed[i] = (s.children[i] as number[]).length > 0 && (s.depth[i] as number) >= depth ? 1 : 0;
  });
  rebuildRows(s);
}

export function expandAll(s: ViewState): void {
  s.collapsed.fill(0);
  rebuildRows(s);
}

/** Opens every ancestor of `i` so it has a row. */
export function reveal(s: ViewState, i: number): void {
  let changed = false;
  for (let p = s.procs[i]?.parent ?? -1; p >= 0; p = s.procs[p]?.parent ?? -1) {
    if (s.collapsed[p]) {
      s.collapsed[p] = 0;
      changed = true;
    }
  }
  if (changed) rebuildRows(s);
}

function haystack(s: ViewState, i: number): string {
  let h = s.hay[i];
  if (h === undefined) {
    const p = s.procs[i] as ProcessRec;
    const parts: string[] = [p.argv.join(" ")];
    for (const e of p.events) if (Array.isArray(e.argv)) parts.push((e.argv as string[]).join(" "));
    h = parts.join("\n").toLowerCase();
    s.hay[i] = h;
  }
  return h;
}

/** Marks processes whose argv (any exec's) contains `q`, case-insensitively. */
export function search(s: ViewState, q: string): void {
  s.query = q;
  s.match.fill(0);
  s.matchBelow.fill(0);
  s.matchCount = 0;
  const needle = q.toLowerCase();
  if (needle === "") return;
  for (let i = 0; i < s.procs.length; i++) {
    if (!haystack(s, i).includes(needle)) continue;
    s.match[i] = 1;
    s.matchCount++;
    for (let p = i; p >= 0 && !s.matchBelow[p]; p = s.procs[p]?.parent ?? -1) s.matchBelow[p] = 1;
  }
}

/** The next matching process after `after` in depth-first order (wrapping), or -1. */
export function nextMatch(s: ViewState, after: number): number {
  if (s.matchCount === 0) return -1;
  const order = fullOrder(s);
  const at = after >= 0 ? order.indexOf(after) : -1;
  for (let k = 1; k <= order.length; k++) {
    const i = order[(at + k) % order.length] as number;
    if (s.match[i]) return i;
  }
  return -1;
}

function fullOrder(s: ViewState): number[] {
  const out: number[] = [];
  const roots = s.roots;
  const stack: number[] = [];
  for (let k = roots.length - 1; k >= 0; k--) stack.push(roots[k] as number);
  while (stack.length) {
    const i = stack.pop() as number;
    out.push(i);
    const kids = s.children[i] as number[];
    for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k] as number);
  }
  return out;
}

/** Zooms the window by `factor` (< 1 zooms in) around time `at`. */
export function zoom(s: ViewState, factor: number, at: number): void {
  const span = Math.min(Math.max((s.to - s.from) * factor, 1), fullSpan(s) * 4);
  const k = (at - s.from) / (s.to - s.from || 1);
  s.from = at - span * k;
  s.to = s.from + span;
}

export function pan(s: ViewState, dt: number): void {
  s.from += dt;
  s.to += dt;
}

/** The whole trace, with a little room at both ends so the first and last bars show whole. */
export function fit(s: ViewState): void {
  const span = fullSpan(s);
  s.from = -span * 0.005;
  s.to = span * 1.015;
}

function fullSpan(s: ViewState): number {
  return Math.max(s.data.trace.duration, 1);
}
