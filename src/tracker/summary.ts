// End-of-trace summary (printed on Ctrl+C): event counts, lost events, the most
// executed commands, alerts by rule, and the tree of processes seen during the trace.
import { escapeTerminal } from "./escape.ts";
import type { TraceEvent } from "./events.ts";
import type { ProcessTable } from "./process-table.ts";
import { basename } from "./rules.ts";
import { renderTree } from "./tree.ts";

export interface SummaryRenderOptions {
  color?: boolean;
  /** Terminal width for the tree (default 120). */
  width?: number;
  /** How many top commands to list (default 10). */
  top?: number;
  /** Tree depth limit (default 12). */
  maxDepth?: number;
}

export class Summary {
  readonly counts = new Map<string, number>();
  readonly lost = new Map<string, number>();
  readonly commands = new Map<string, number>();
  readonly alerts = new Map<string, { severity: string; count: number }>();
  /**
   * Pre-existing processes (seeded from /proc) that showed up in an event: the tree
   * shows these and every process the trace itself saw start. Processes born during
   * the trace are not recorded here (their table entry says so), which is what keeps
   * this bounded: a set of every pid seen grew by one per fork for as long as a storm
   * ran. Pids whose entry left the table are dropped once the set outgrows the table's
   * own cap, so it never holds more than maxEntries + 1 pids.
   */
  readonly active = new Set<number>();
  private first?: string;
  private last?: string;

  /** `table` is the one the events are applied to (before add() sees them). */
  constructor(private readonly table: ProcessTable) {}

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
      case "alert": {
        const a = this.alerts.get(ev.rule) ?? { severity: ev.severity, count: 0 };
        a.count++;
        this.alerts.set(ev.rule, a);
        break;
      }
    }
    // A fork's child is new (never pre-existing), so only the event's own pid matters.
    if (this.table.get(ev.pid)?.preexisting === true && !this.active.has(ev.pid)) {
      if (this.active.size >= this.table.maxEntries) this.sweep();
      this.active.add(ev.pid);
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

  render(table: ProcessTable, opts: SummaryRenderOptions = {}): string {
    const width = opts.width ?? 120;
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
    if (this.alerts.size) {
      out.push("", "Alerts:");
      for (const [rule, a] of [...this.alerts].sort((x, y) => y[1].count - x[1].count))
        out.push(`  ${String(a.count).padStart(6)}  ${escapeTerminal(rule)} (${a.severity})`);
    }
    out.push("", "Process tree (processes active during the trace):");
    const tree = renderTree(table, {
      color: opts.color,
      width,
      maxDepth: opts.maxDepth ?? 12,
      filter: (e) => !e.preexisting || this.active.has(e.pid),
    });
    out.push(tree || "  (none still in the table)");
    return out.join("\n");
  }
}
