// End-of-trace summary: event counts, lost events, the most executed commands, the
// failed and the slowest processes, alerts by rule, and the tree of the processes the
// trace showed. It is a sink: it counts exactly what the filters let through, so
// `--comm gcc` summarises gcc and nothing else.
import { escapeTerminal, formatArgv } from "./escape.ts";
import type { ExitEvent, TraceEvent } from "./events.ts";
import { isFailedExit } from "./filter.ts";
import { formatDuration, formatExitStatus } from "./format-text.ts";
import type { ProcessTable } from "./process-table.ts";
import { basename } from "./rules.ts";
import type { TraceSink } from "./sink.ts";
import { renderTree } from "./tree.ts";

/** Options of Summary. */
export interface SummaryOptions {
  /**
   * The events reaching the summary were filtered (--comm, --exit-failed, ...): the
   * tree then shows only processes that had an event, with their ancestors for context.
   */
  filtered?: boolean;
  /** How many failed and slowest processes to keep (default 10). */
  keep?: number;
}

/** Options of Summary.render(). */
export interface SummaryRenderOptions {
  color?: boolean;
  /** Line width for the tree; 0 or undefined: lines are never cut (a file or a pipe). */
  width?: number;
  /** How many top commands to list (default 10). */
  top?: number;
  /** Tree depth limit (default 12). */
  maxDepth?: number;
  /** Draw the tree from this process down (the traced command), not from pid 1. */
  root?: number;
}

/** What the failed and slowest lists keep of an exit. */
interface ExitNote {
  pid: number;
  what: string;
  status: string;
  lifetime_ns: number;
  time: string;
}

/** A sink that counts events, lost records, commands and alerts, and renders the end-of-trace summary and process tree. */
export class Summary implements TraceSink {
  readonly counts = new Map<string, number>();
  readonly lost = new Map<string, number>();
  readonly commands = new Map<string, number>();
  readonly alerts = new Map<string, { severity: string; count: number }>();
  /** Failed process exits: the count, and the first `keep` of them. */
  failedCount = 0;
  readonly failed: ExitNote[] = [];
  /** The `keep` longest-lived process exits, longest first. */
  readonly slowest: ExitNote[] = [];
  /**
   * Processes the tree shows beyond those born during the trace: pre-existing ones
   * (seeded from /proc) that showed up in an event, or, when filtered, every process
   * that had an event. Pids whose entry left the table are dropped once the set
   * outgrows the table's own cap, so it never holds more than maxEntries + 1 pids.
   */
  readonly active = new Set<number>();
  private first?: string;
  private last?: string;
  private readonly filtered: boolean;
  private readonly keep: number;

  /** `table` is the one the events are applied to (before write() sees them). */
  constructor(
    private readonly table: ProcessTable,
    opts: SummaryOptions = {},
  ) {
    this.filtered = opts.filtered ?? false;
    this.keep = opts.keep ?? 10;
  }

  write(ev: TraceEvent): void {
    this.add(ev);
  }

  /** Counts one event. */
  add(ev: TraceEvent): void {
    this.counts.set(ev.event, (this.counts.get(ev.event) ?? 0) + 1);
    this.first ??= ev.time;
    this.last = ev.time;
    switch (ev.event) {
      case "lost":
        this.lost.set(ev.kind, (this.lost.get(ev.kind) ?? 0) + ev.count);
        return;
      case "exec": {
        const name = basename(ev.filename) || ev.comm;
        this.commands.set(name, (this.commands.get(name) ?? 0) + 1);
        break;
      }
      case "exit":
        if (ev.thread !== true) this.exit(ev);
        break;
      case "alert": {
        const a = this.alerts.get(ev.rule) ?? { severity: ev.severity, count: 0 };
        a.count++;
        this.alerts.set(ev.rule, a);
        break;
      }
    }
    // Unfiltered, a process born during the trace is always shown (its table entry says
    // so): only pre-existing ones need recording, which keeps this small in a storm.
    const e = this.table.get(ev.pid);
    if (e === undefined || (!this.filtered && !e.preexisting) || this.active.has(ev.pid)) return;
    if (this.active.size >= this.table.maxEntries) this.sweep();
    this.active.add(ev.pid);
  }

  private exit(ev: ExitEvent): void {
    const failed = isFailedExit(ev);
    if (failed) this.failedCount++;
    const keepFailed = failed && this.failed.length < this.keep;
    const s = this.slowest;
    const keepSlow = s.length < this.keep || ev.lifetime_ns > (s[s.length - 1] as ExitNote).lifetime_ns;
    if (!keepFailed && !keepSlow) return;
    const note: ExitNote = {
      pid: ev.pid,
      what: ev.argv.length > 0 ? formatArgv(ev.argv) : escapeTerminal(ev.filename || `[${ev.comm}]`),
      status: formatExitStatus(ev),
      lifetime_ns: ev.lifetime_ns,
      time: ev.time,
    };
    if (keepFailed) this.failed.push(note);
    if (keepSlow) {
      let i = s.length;
      while (i > 0 && (s[i - 1] as ExitNote).lifetime_ns < note.lifetime_ns) i--;
      s.splice(i, 0, note);
      if (s.length > this.keep) s.pop();
    }
  }

  /** Forgets pids the table no longer holds: the tree cannot show them anyway. */
  private sweep(): void {
    for (const pid of this.active) if (!this.table.has(pid)) this.active.delete(pid);
  }

  /** Sum of every lost count. */
  get totalLost(): number {
    let n = 0;
    for (const v of this.lost.values()) n += v;
    return n;
  }

  /** The summary as text: counts, losses, top commands, alerts, failed and slowest processes, tree. */
  render(table: ProcessTable, opts: SummaryRenderOptions = {}): string {
    const out: string[] = ["", "=== Summary ==="];
    const c = (k: string) => this.counts.get(k) ?? 0;
    if (this.first && this.last) {
      const secs = (Date.parse(this.last) - Date.parse(this.first)) / 1000;
      out.push(`Duration: ${Number.isFinite(secs) ? secs.toFixed(3) : "?"}s (first to last event)`);
    }
    out.push(
      `Events: fork=${c("fork")} exec=${c("exec")} exec_failed=${c("exec_failed")} exit=${c("exit")} alert=${c("alert")}`,
    );
    if (this.lost.size) {
      const parts = [...this.lost].map(([k, v]) => `${escapeTerminal(k)}=${v}`);
      out.push(`Lost events: ${this.totalLost} (${parts.join(" ")})`);
    } else out.push("Lost events: 0");
    if (this.commands.size) {
      out.push("", "Top commands:");
      const top = [...this.commands]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, opts.top ?? 10);
      for (const [name, n] of top) out.push(`  ${String(n).padStart(6)}  ${escapeTerminal(name)}`);
    }
    const note = (n: ExitNote) =>
      `  ${String(n.pid).padStart(7)}  ${n.status.padEnd(18)} ${formatDuration(n.lifetime_ns).padStart(8)}  ${n.what}`;
    if (this.failedCount > 0) {
      out.push("", `Failed (${this.failedCount}, non-zero exit or killed by a signal):`);
      for (const n of this.failed) out.push(note(n));
      if (this.failedCount > this.failed.length)
        out.push(`  … ${this.failedCount - this.failed.length} more`);
    }
    if (this.slowest.length > 0) {
      out.push("", "Slowest (longest lifetime):");
      for (const n of this.slowest) out.push(note(n));
    }
    if (this.alerts.size) {
      out.push("", "Alerts:");
      for (const [rule, a] of [...this.alerts].sort((x, y) => y[1].count - x[1].count))
        out.push(`  ${String(a.count).padStart(6)}  ${escapeTerminal(rule)} (${a.severity})`);
    }
    out.push("", "Process tree (processes active during the trace):");
    const filtered = this.filtered;
    const tree = renderTree(table, {
      color: opts.color,
      width: opts.width || undefined,
      maxDepth: opts.maxDepth ?? 12,
      root: opts.root,
      filter: (e) => (filtered ? this.active.has(e.pid) : !e.preexisting || this.active.has(e.pid)),
    });
    out.push(tree || "  (none still in the table)");
    return out.join("\n");
  }
}
