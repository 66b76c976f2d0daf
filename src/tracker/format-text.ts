// Human-readable event lines with aligned columns: TIME EVENT PID PPID UID COMM DETAILS.
// Everything a traced process controls is escaped (escape.ts). Colour is opt-in: the
// CLI enables it only for a TTY without NO_COLOR (https://no-color.org).
import { escapeTerminal, formatArgv } from "./escape.ts";
import type { ExitEvent, Severity, TraceEvent } from "./events.ts";
import { realExecutable } from "./paths.ts";

export interface TextFormatOptions {
  color?: boolean;
  /** "absolute" (local HH:MM:SS.mmm, default) or "relative" (+s.mmm since `start`). */
  time?: "absolute" | "relative";
  /** ms since epoch that relative times count from; defaults to the first event's time. */
  start?: number;
}

const SGR = {
  reset: "\x1b[0m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  blue: "\x1b[34m",
  magenta: "\x1b[35m",
  cyan: "\x1b[36m",
};
type Color = keyof typeof SGR;

const EVENT_COLOR: Record<string, Color> = {
  fork: "blue",
  exec: "green",
  exec_failed: "yellow",
  exit: "dim",
  alert: "red",
  lost: "magenta",
};
const SEVERITY_COLOR: Record<Severity, Color> = {
  low: "cyan",
  medium: "yellow",
  high: "red",
  critical: "magenta",
};

/** "1.23s", "45ms", "2m03s", "1h02m": short human duration. */
export function formatDuration(ns: number): string {
  const ms = ns / 1e6;
  if (ms < 1) return `${Math.round(ns / 1000)}µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "exit 0", "exit 3", "killed by SIGKILL", "SIGSEGV (core dumped)". */
export function formatExitStatus(
  e: Pick<ExitEvent, "exit_code" | "signal" | "signal_name" | "core_dumped">,
): string {
  if (e.signal !== null) {
    const name = e.signal_name ?? `signal ${e.signal}`;
    return e.core_dumped ? `${name} (core dumped)` : `killed by ${name}`;
  }
  return `exit ${e.exit_code}`;
}

export const COLUMNS = [
  ["TIME", 12],
  ["EVENT", 11],
  ["PID", 7],
  ["PPID", 7],
  ["UID", 5],
  ["COMM", 16],
] as const;

export class TextFormatter {
  private readonly color: boolean;
  private readonly mode: "absolute" | "relative";
  private start: number | undefined;

  constructor(opts: TextFormatOptions = {}) {
    this.color = opts.color ?? false;
    this.mode = opts.time ?? "absolute";
    this.start = opts.start;
  }

  private paint(c: Color, s: string): string {
    return this.color ? `${SGR[c]}${s}${SGR.reset}` : s;
  }

  header(): string {
    const cols = COLUMNS.map(([name, w]) =>
      name === "PID" || name === "PPID" || name === "UID" ? name.padStart(w) : name.padEnd(w),
    );
    return this.paint("bold", `${cols.join(" ")} DETAILS`);
  }

  time(ev: TraceEvent): string {
    const t = Date.parse(ev.time);
    if (!Number.isFinite(t)) return "?";
    if (this.mode === "relative") {
      this.start ??= t;
      const d = (t - this.start) / 1000;
      return `${d < 0 ? "-" : "+"}${Math.abs(d).toFixed(3)}s`;
    }
    const d = new Date(t);
    const p = (n: number, w = 2) => String(n).padStart(w, "0");
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }

  details(ev: TraceEvent): string {
    switch (ev.event) {
      case "fork":
        return ev.thread ? `thread ${ev.child_tid}` : `child ${ev.child_pid}`;
      case "exec": {
        let s = formatArgv(ev.argv.length ? ev.argv : [ev.filename]);
        if (ev.argv_truncated) s += ` [truncated: ${ev.argc} args]`;
        // The file the kernel ran, whenever argv[0] (which the caller chose) says otherwise.
        const real = realExecutable(ev.argv[0], ev.filename, ev.exe);
        if (real !== undefined) s += ` (exe ${escapeTerminal(real)})`;
        if (ev.env?.length) s += ` env: ${formatArgv(ev.env)}${ev.env_truncated ? " [truncated]" : ""}`;
        return s;
      }
      case "exec_failed":
        return `${escapeTerminal(ev.filename)}: ${ev.error} (${ev.errno})`;
      case "exit": {
        const st = formatExitStatus(ev);
        const painted =
          ev.signal !== null ? this.paint("red", st) : ev.exit_code !== 0 ? this.paint("yellow", st) : st;
        const s = `${ev.thread ? `thread ${ev.tid} ` : ""}${painted} (${formatDuration(ev.lifetime_ns)})`;
        // What ran, so a failed exit answers "which command" on its own line.
        if (ev.thread || !ev.argv) return s;
        if (ev.argv.length > 0)
          return `${s} ${formatArgv(ev.argv)}${ev.argv_truncated ? " [truncated]" : ""}`;
        return ev.filename ? `${s} ${escapeTerminal(ev.filename)}` : s;
      }
      case "alert":
        return `${this.paint(SEVERITY_COLOR[ev.severity] ?? "red", ev.severity.toUpperCase())} ${ev.rule}: ${escapeTerminal(ev.reason)}`;
      case "lost":
        return `${ev.count} ${escapeTerminal(ev.kind)} event${ev.count === 1 ? "" : "s"} lost`;
    }
  }

  /** One line, no trailing newline. */
  format(ev: TraceEvent): string {
    const name = this.paint(EVENT_COLOR[ev.event] ?? "reset", ev.event.padEnd(11));
    const pid = ev.event === "lost" ? "-".padStart(7) : String(ev.pid).padStart(7);
    const ppid = ev.event === "lost" ? "-".padStart(7) : String(ev.ppid).padStart(7);
    const uid = ev.event === "lost" ? "-".padStart(5) : String(ev.uid).padStart(5);
    const comm = escapeTerminal(ev.comm).padEnd(16);
    return `${this.time(ev).padEnd(12)} ${name} ${pid} ${ppid} ${uid} ${comm} ${this.details(ev)}`;
  }
}
