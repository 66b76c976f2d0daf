// `tsbpf trace`: the flags of openTrace() (src/tracker/trace.ts), and printing. Watch
// processes start, exec and exit, with full argv and exit status.
import { accessSync, constants as fsConstants } from "node:fs";
import { dirname, resolve } from "node:path";
import { TsbpfError, UsageError } from "../errors.ts";
import { phase, timingOn } from "../timing.ts";
import { loadRuleSet } from "../tracker/alerts.ts";
import { TraceConfigError } from "../tracker/errors.ts";
import { escapeJsonLine } from "../tracker/escape.ts";
import { useTracerJitPolicy } from "../tracker/jit-policy.ts";
import { EventWriter } from "../tracker/output.ts";
import type { TraceSink } from "../tracker/sink.ts";
import { Summary } from "../tracker/summary.ts";
import { openTrace, type Trace } from "../tracker/trace.ts";
import type { Command } from "./command.ts";
import { renderOptionsHelp } from "./options.ts";
import { parseTraceArgs, TRACE_OPTIONS, type TraceCliConfig } from "./trace-options.ts";

export const TRACE_DESCRIPTION = `Trace process lifecycle events system-wide (or for one command tree): fork, exec
with the full argv, failed execs, and exit with its code, signal or core dump, the
command that ran and its lifetime.
Needs root, or CAP_BPF + CAP_PERFMON. Stop with Ctrl+C (or SIGTERM): the programs
are detached, and text mode prints a summary (counts, failed and slowest processes,
alerts) and the tree of processes that ran. A second Ctrl+C exits at once.

With '-- CMD ARGS...', tsbpf attaches first, then runs CMD (stdio inherited) and
traces only it and its descendants, like 'strace -f'; it exits with CMD's exit
status (128+N when CMD is killed by signal N). CMD's output and the events share
stdout unless the events go elsewhere: -o FILE, or --output-fd 2 (stderr, as strace).

Filters (--comm, --exit-failed, --alerts-only) apply to the summary too.`;

const help = `Usage: tsbpf trace [options] [-- CMD [ARGS...]]

${TRACE_DESCRIPTION}

${renderOptionsHelp(TRACE_OPTIONS)}

Examples:
  tsbpf trace
  tsbpf trace --json -o events.ndjson --failed
  tsbpf trace --exit-failed -- make -j4
  tsbpf trace --json --output-fd 2 -- ./build.sh > build.log
  tsbpf trace --uid 1000 --comm 'python*' --duration 30s`;

/** TraceConfigError names a config field; the CLI names its flag. */
const FLAG_OF: Record<string, string> = {
  cgroup: "--cgroup",
  container: "--container",
  pid: "--pid",
  command: "--",
};

function asCliError(e: unknown): unknown {
  if (!(e instanceof TraceConfigError)) return e;
  const msg = `trace: ${FLAG_OF[e.setting] ?? e.setting} ${e.value}: ${e.reason}`;
  return e.exitCode === 2 ? new UsageError(msg) : new TsbpfError(msg);
}

const trace: Command = {
  name: "trace",
  summary: "trace process fork, exec and exit events",
  help,
  options: TRACE_OPTIONS,
  async run(args) {
    phase("trace: started");
    const cfg = parseTraceArgs(args);
    if (!cfg.quiet) for (const n of cfg.notes) process.stderr.write(`tsbpf: note: ${n}\n`);
    const rules = loadRuleSet({ rulesFile: cfg.rulesFile, allowlistFile: cfg.allowlistFile });
    if (cfg.html !== undefined) checkHtmlPath(cfg.html);
    phase("trace: options and rules read");

    // Before any per-event code is optimized (src/tracker/jit-policy.ts).
    useTracerJitPolicy();
    let t: Trace;
    try {
      t = await openTrace({
        ...cfg.trace,
        rules,
        // /proc is read while events flow: the first events are not held up by it,
        // and each event still sees its process's ancestry.
        seedProc: "background",
        // A command's whole tree is summarised at its end, not just its last 5 s.
        ...(cfg.command && !cfg.json && !cfg.noSummary
          ? { table: { graceMs: Number.POSITIVE_INFINITY } }
          : {}),
        ...(timingOn() ? { onPhase: phase } : {}),
      });
    } catch (e) {
      throw asCliError(e);
    }
    try {
      return await printTrace(t, cfg);
    } finally {
      t.close();
    }
  },
};

async function printTrace(t: Trace, cfg: TraceCliConfig): Promise<number> {
  const toTerminal = cfg.output === undefined && process.stdout.isTTY === true && (cfg.outputFd ?? 1) === 1;
  const color = !cfg.json && toTerminal && !process.env.NO_COLOR;
  const out = new EventWriter(
    cfg.output !== undefined
      ? { path: cfg.output }
      : {
          fd: cfg.outputFd ?? 1,
          name: cfg.outputFd === undefined || cfg.outputFd === 1 ? "stdout" : `fd ${cfg.outputFd}`,
        },
    { format: cfg.json ? "json" : "text", color, time: cfg.time, startedAt: t.startedAt, header: !cfg.quiet },
  );
  phase("output opened");
  // Only text mode prints the summary; in JSON mode counting would be work for nothing.
  // It goes first so that its end() prints before the writer's end() closes the output.
  const sinks: TraceSink[] = [];
  if (!cfg.json && !cfg.noSummary) {
    const summary = new Summary(t.table, { filtered: t.filter.active });
    sinks.push({
      write: (ev) => summary.write(ev),
      end: (end) => {
        if (out.broken) return;
        // The tree is cut to the terminal's width only on a terminal: a file keeps it whole.
        const width = toTerminal ? (process.stdout.columns ?? 120) : 0;
        out.line(summary.render(end.table, { color, width, root: end.rootPid }));
      },
    });
  }
  sinks.push(out);
  if (cfg.html !== undefined) sinks.push(htmlSink(cfg.html));
  if (timingOn()) sinks.push(firstEventTimer(out));

  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      // Second Ctrl+C: leave now. Closing our fds detaches everything in the kernel.
      t.close();
      out.flush();
      process.exit(130);
    }
    // With a command running, it decides (like strace): Ctrl+C from the terminal
    // reached its process group already, SIGTERM aimed at us is passed on; we end
    // when it ends. Otherwise stop now and print the summary.
    const cmd = t.command;
    if (cmd?.running()) {
      if (sig !== "SIGINT") cmd.child.kill(sig);
    } else t.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const end = await t.run(sinks);
    if (end.command?.error)
      process.stderr.write(`tsbpf: trace: cannot run ${cfg.command?.[0]}: ${end.command.error.message}\n`);
    return end.command?.status ?? 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * trace --html: keeps each event that passed the filters as its NDJSON line (the schema
 * `tsbpf report` reads) and draws them when the trace ends.
 */
function htmlSink(path: string): TraceSink {
  const lines: string[] = [];
  return {
    write: (ev) => lines.push(escapeJsonLine(ev)),
    // Imported when the trace ends: the report code costs nothing at start-up.
    end: async () => (await import("./report.ts")).writeHtmlReport(lines, path),
  };
}

/** Found out before tracing, not after a long trace: the page is written next to `path`. */
function checkHtmlPath(path: string): void {
  try {
    accessSync(dirname(resolve(path)), fsConstants.W_OK);
  } catch (e) {
    throw new TsbpfError(`trace: cannot write --html ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/** Under TSBPF_TIMING=1: marks when the first event was written. */
function firstEventTimer(out: EventWriter): TraceSink {
  let first = true;
  return {
    write(ev) {
      if (!first) return;
      first = false;
      out.flush();
      phase(`first event written (${ev.event} of pid ${ev.pid})`);
    },
  };
}

export default trace;
