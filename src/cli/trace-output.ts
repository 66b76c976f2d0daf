// Where `tsbpf trace` writes: stdout or `-o FILE`, as NDJSON or aligned text, with
// the user-side filters (--comm, --alerts-only) and the rules applied on the way.
// Writes are synchronous (files, and pipes/TTYs on Linux, are written synchronously by
// Node), so ordering with the final summary is trivial and nothing is lost at exit.
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { TsbpfError } from "../errors.ts";
import { type Allowlist, loadAllowlist, loadRules } from "../tracker/allowlist.ts";
import { escapeJsonLine } from "../tracker/escape.ts";
import type { TraceEvent } from "../tracker/events.ts";
import { TextFormatter } from "../tracker/format-text.ts";
import { writeEventJson } from "../tracker/json-bytes.ts";
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

/** Output buffer: written out once it holds FLUSH_AT bytes, or after the event-loop turn. */
const OUT_BUFFER = 256 * 1024;
const FLUSH_AT = 64 * 1024;

export class TraceOutput {
  private readonly fd: number;
  private readonly ownFd: boolean;
  private readonly text: TextFormatter | undefined;
  readonly summary: Summary;
  private readonly ctx: RuleContext;
  readonly color: boolean;
  /** Set when the reader of our output went away (EPIPE): the caller stops tracing. */
  broken = false;
  /** Sees every event that passes the user-side filters (trace --html records them). */
  tap: ((ev: TraceEvent) => void) | undefined;

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
    this.tap?.(ev);
    if (this.text) {
      this.line(this.text.format(ev));
      return;
    }
    let elapsed: number | undefined;
    if (this.cfg.time === "rel") {
      const rel = (Date.parse(ev.time) - this.startedAt) / 1000;
      elapsed = Math.round(rel * 1e6) / 1e6;
    }
    // Written as bytes into the output buffer (json-bytes.ts): no string per field or
    // line. A line that does not fit after a flush, or an event the byte writer does
    // not handle (alert, lost, a field of an unexpected type), goes through the generic
    // escaper, which writes the same bytes.
    if (this.outLen > FLUSH_AT) this.flush();
    const end = writeEventJson(this.out, this.outLen, this.out.length - 1, ev, elapsed);
    if (end < 0) {
      this.line(escapeJsonLine(elapsed === undefined ? ev : { ...ev, elapsed_s: elapsed }));
      return;
    }
    this.out[end] = 10;
    this.outLen = end + 1;
    this.afterLine();
  }

  /**
   * Lines are batched: the session hands out a whole ring-buffer drain in one
   * event-loop turn, and one write per batch (flushed from setImmediate, after the
   * turn) costs far less than one per event. Each line is encoded straight into one
   * reused buffer: collecting strings, joining them and encoding the joined string
   * (Buffer.from) copied every byte twice more and was ~600 of the ~3800 bytes a fork
   * storm allocated per event (bench/tracer-path.ts --heap).
   */
  line(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 for 2).
    const worst = s.length * 3 + 1;
    if (this.outLen + worst > this.out.length) {
      this.flush();
      if (worst > this.out.length) {
        this.writeAll(Buffer.from(`${s}\n`));
        return;
      }
    }
    this.outLen += this.out.write(s, this.outLen);
    this.out[this.outLen++] = 10;
    this.afterLine();
  }

  private afterLine(): void {
    if (this.outLen > FLUSH_AT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flushScheduled = false;
  private readonly out = Buffer.allocUnsafe(OUT_BUFFER);
  private outLen = 0;

  flush(): void {
    if (this.outLen === 0) return;
    const n = this.outLen;
    this.outLen = 0;
    this.writeAll(this.out.subarray(0, n));
  }

  private writeAll(bytes: Buffer): void {
    if (this.broken) return;
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
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
