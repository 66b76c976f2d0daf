// Where `tsbpf trace` writes: stdout or `-o FILE`, as NDJSON or aligned text, with
// the user-side filters (--comm, --alerts-only) and the rules applied on the way.
// Writes are synchronous (files, and pipes/TTYs on Linux, are written synchronously by
// Node), so ordering with the final summary is trivial and nothing is lost at exit.
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { TsbpfError } from "../errors.ts";
import { type Allowlist, loadAllowlist, loadRules } from "../tracker/allowlist.ts";
import type { TraceEvent } from "../tracker/events.ts";
import { TextFormatter } from "../tracker/format-text.ts";
import { eventJsonLine } from "../tracker/json-line.ts";
import type { ProcessTable } from "../tracker/process-table.ts";
import { BUILTIN_RULES, evaluate, type Rule, type RuleContext } from "../tracker/rules.ts";
import { Summary } from "../tracker/summary.ts";
import type { TraceCliConfig } from "./trace-options.ts";

/** Reading the rules/allowlist files happens before anything is loaded into the kernel. */
export function loadUserRules(cfg: TraceCliConfig): Rule[] {
  const rules: Rule[] = [...BUILTIN_RULES];
  if (cfg.rulesFile !== undefined) rules.push(...loadRules(cfg.rulesFile));
  if (cfg.allowlistFile !== undefined) {
    const a: Allowlist = loadAllowlist(cfg.allowlistFile);
    rules.push(a.rule());
  }
  return rules;
}

export class TraceOutput {
  private readonly fd: number;
  private readonly ownFd: boolean;
  private readonly text: TextFormatter | undefined;
  readonly summary: Summary;
  private readonly ctx: RuleContext;
  private buf: string[] = [];
  private bufLen = 0;
  readonly color: boolean;
  /** Set when the reader of our output went away (EPIPE): the caller stops tracing. */
  broken = false;

  constructor(
    private readonly cfg: TraceCliConfig,
    private readonly rules: Rule[],
    table: ProcessTable,
    startedAt: number,
  ) {
    this.summary = new Summary(table);
    if (cfg.output !== undefined) {
      try {
        this.fd = openSync(cfg.output, "w", 0o644);
      } catch (e) {
        throw new TsbpfError(
          `trace: cannot write -o ${cfg.output}: ${(e as NodeJS.ErrnoException).code ?? e}`,
        );
      }
      this.ownFd = true;
    } else {
      this.fd = 1;
      this.ownFd = false;
    }
    this.color =
      !cfg.json && cfg.output === undefined && process.stdout.isTTY === true && !process.env.NO_COLOR;
    if (!cfg.json)
      this.text = new TextFormatter({
        color: this.color,
        time: cfg.time === "rel" ? "relative" : "absolute",
        start: startedAt,
      });
    const wwCache = new Map<string, boolean>();
    this.ctx = {
      table,
      isWorldWritableDir: (dir) => {
        let ww = wwCache.get(dir);
        if (ww === undefined) {
          try {
            ww = (statSync(dir).mode & 0o002) !== 0;
          } catch {
            ww = false;
          }
          if (wwCache.size > 4096) wwCache.clear();
          wwCache.set(dir, ww);
        }
        return ww;
      },
    };
    this.startedAt = startedAt;
    if (this.text) this.line(this.text.header());
  }

  private readonly startedAt: number;

  /** One event from the session (already applied to the table). */
  event(ev: TraceEvent): void {
    const alerts = ev.event === "exec" ? evaluate(ev, this.ctx, this.rules) : undefined;
    this.emit(ev);
    if (alerts) for (const a of alerts) this.emit(a);
  }

  private emit(ev: TraceEvent): void {
    // Only text mode prints the summary (finish()); in JSON mode its per-event counting
    // would be work for nothing.
    if (this.text) this.summary.add(ev);
    if (this.cfg.alertsOnly && ev.event !== "alert" && ev.event !== "lost") return;
    if (this.cfg.comm && ev.event !== "lost" && !this.cfg.comm.test(ev.comm)) return;
    if (this.text) {
      this.line(this.text.format(ev));
      return;
    }
    if (this.cfg.time === "rel") {
      const rel = (Date.parse(ev.time) - this.startedAt) / 1000;
      this.line(eventJsonLine(ev, Math.round(rel * 1e6) / 1e6));
    } else this.line(eventJsonLine(ev));
  }

  /**
   * Lines are batched: the session hands out a whole ring-buffer drain in one
   * event-loop turn, and one write per batch (flushed from setImmediate, after the
   * turn) costs far less than one per event.
   */
  line(s: string): void {
    this.buf.push(s);
    this.bufLen += s.length;
    if (this.bufLen > 64 * 1024) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flushScheduled = false;

  flush(): void {
    if (this.buf.length === 0 || this.broken) return;
    const data = `${this.buf.join("\n")}\n`;
    this.buf = [];
    this.bufLen = 0;
    const bytes = Buffer.from(data);
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.fd, bytes, off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue;
        if (code === "EPIPE") {
          this.broken = true;
          return;
        }
        throw new TsbpfError(`trace: cannot write ${this.cfg.output ?? "stdout"}: ${code ?? e}`);
      }
    }
  }

  /** The end-of-trace summary and process tree (text mode only). */
  finish(table: ProcessTable): void {
    if (this.text) {
      this.line(this.summary.render(table, { color: this.color, width: process.stdout.columns ?? 120 }));
    }
    this.flush();
    if (this.ownFd) closeSync(this.fd);
  }
}
