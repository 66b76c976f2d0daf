// Process tree rendering shared by the trace summary and `tsbpf tree`.
import { escapeTerminal, formatArgv } from "./escape.ts";
import { formatDuration, formatExitStatus } from "./format-text.ts";
import { realExecutable } from "./paths.ts";
import type { ProcessEntry, ProcessTable } from "./process-table.ts";

export interface TreeOptions {
  /** Only this pid and its descendants. */
  root?: number;
  color?: boolean;
  /** Deepest level shown (root = 0); deeper subtrees are summarised as "… N more". */
  maxDepth?: number;
  /** Maximum line width in columns (default: unlimited). */
  width?: number;
  /** "unicode" (├─ └─ │, default) or "ascii" (|- `- |). */
  charset?: "unicode" | "ascii";
  /** Only entries for which this returns true, plus their ancestors for context. */
  filter?: (e: ProcessEntry) => boolean;
}

/** "1234 bash -c 'echo hi' [exit 0, 12ms]" — escaped, one line. */
export function describeProcess(e: ProcessEntry): string {
  const cmd = e.argv.length ? formatArgv(e.argv) : escapeTerminal(e.comm ? `[${e.comm}]` : "?");
  let s = `${e.pid} ${cmd}`;
  const real = e.argv.length ? realExecutable(e.argv[0], e.filename, e.exe) : undefined;
  if (real !== undefined) s += ` (exe ${escapeTerminal(real)})`;
  if (e.exited) s += ` [${formatExitStatus(e.exited)}, ${formatDuration(e.exited.lifetime_ns)}]`;
  if (e.threads > 1 && !e.exited) s += ` {${e.threads} threads}`;
  return s;
}

function clip(s: string, width: number | undefined): string {
  if (!width || width < 8) return s;
  const chars = Array.from(s);
  return chars.length <= width ? s : `${chars.slice(0, width - 1).join("")}…`;
}

/** Renders the table as a forest (or one subtree), children sorted by pid. */
export function renderTree(table: ProcessTable, opts: TreeOptions = {}): string {
  const g =
    opts.charset === "ascii"
      ? { mid: "|- ", last: "`- ", bar: "|  ", sp: "   " }
      : { mid: "├─ ", last: "└─ ", bar: "│  ", sp: "   " };
  const maxDepth = opts.maxDepth ?? Number.POSITIVE_INFINITY;
  let keep: Set<number> | undefined;
  if (opts.filter) {
    keep = new Set();
    for (const e of table.entries()) {
      if (!opts.filter(e)) continue;
      keep.add(e.pid);
      for (const a of table.ancestry(e.pid)) keep.add(a.pid);
    }
  }
  const lines: string[] = [];
  const seen = new Set<number>();
  const keptChildren = (e: ProcessEntry) =>
    table.children(e.pid).filter((c) => !seen.has(c.pid) && (!keep || keep.has(c.pid)));
  const isContext = (e: ProcessEntry) => opts.filter !== undefined && !opts.filter(e);
  /**
   * With a filter: the context-only descendants of `e` that form a single line down to
   * the first entry that matches, branches or is the matching entry's parent (kept).
   */
  const contextChain = (e: ProcessEntry, kids: ProcessEntry[]): ProcessEntry[] => {
    const chain: ProcessEntry[] = [];
    if (!isContext(e) || kids.length !== 1) return chain;
    let c = kids[0];
    for (;;) {
      if (!isContext(c)) break;
      // Excluding the chain itself ends the walk should ppid links ever form a loop.
      const ck = keptChildren(c).filter((x) => !chain.includes(x));
      if (ck.length !== 1 || !isContext(ck[0])) break;
      chain.push(c);
      c = ck[0];
    }
    return chain;
  };
  const dim = (s: string) => (opts.color ? `\x1b[2m${s}\x1b[0m` : s);
  const walk = (e: ProcessEntry, prefix: string, self: string, depth: number) => {
    seen.add(e.pid);
    const head = prefix + self;
    const line = clip(head + describeProcess(e), opts.width);
    lines.push(e.exited ? head + dim(line.slice(head.length)) : line);
    const kids = keptChildren(e);
    const childPrefix = prefix + (self === "" ? "" : self === g.last ? g.sp : g.bar);
    const skipped = contextChain(e, kids);
    if (skipped.length >= 2) {
      // A chain of context-only ancestors (each with one kept child) says only "how we
      // got here"; under a deep launcher (CI runners, container shims, ssh + tmux) it
      // would push what actually ran past maxDepth and the terminal's width. One line
      // stands for the chain, then the process's own parent.
      for (const c of skipped) seen.add(c.pid);
      lines.push(`${childPrefix}${g.last}${dim(`… ${skipped.length} more ancestors`)}`);
      const last = skipped[skipped.length - 1];
      walk(keptChildren(last)[0], childPrefix + g.sp, g.last, depth + 1);
      return;
    }
    if (depth >= maxDepth && kids.length) {
      lines.push(`${childPrefix}${g.last}… ${kids.length} more`);
      return;
    }
    for (let i = 0; i < kids.length; i++)
      walk(kids[i], childPrefix, i === kids.length - 1 ? g.last : g.mid, depth + 1);
  };
  const roots =
    opts.root !== undefined
      ? [table.get(opts.root)].filter((x): x is ProcessEntry => x !== undefined)
      : table.roots().filter((r) => !keep || keep.has(r.pid));
  for (const r of roots) if (!seen.has(r.pid)) walk(r, "", "", 0);
  return lines.join("\n");
}

/** The tree as nested plain objects (for --json). */
export interface TreeNode {
  pid: number;
  ppid: number;
  exec_id: string;
  comm: string;
  exe: string | null;
  argv: string[];
  uid: number;
  gid: number;
  threads: number;
  children: TreeNode[];
}

export function treeToJson(table: ProcessTable, root?: number): TreeNode[] {
  const seen = new Set<number>();
  const node = (e: ProcessEntry): TreeNode => {
    seen.add(e.pid);
    return {
      pid: e.pid,
      ppid: e.ppid,
      exec_id: e.exec_id,
      comm: e.comm,
      exe: e.exe ?? null,
      argv: e.argv,
      uid: e.uid,
      gid: e.gid,
      threads: e.threads,
      children: table
        .children(e.pid)
        .filter((c) => !seen.has(c.pid))
        .map(node),
    };
  };
  const roots = root !== undefined ? [table.get(root)].filter((x): x is ProcessEntry => !!x) : table.roots();
  return roots.map(node);
}
