// `tsbpf trace`: the flags of openTrace() (src/tracker/trace.ts), and printing. Watch
// processes start, exec and exit, with full argv and exit status.
import { accessSync, constants as fsConstants } from "node:fs";
import { dirname, resolve } from "node:path";
import { TsbpfError, UsageError } from "../errors.ts";
import type { TraceExports } from "../export/index.ts";
import { preloadLibc } from "../sys/libc.ts";
import { phase, timingOn } from "../timing.ts";
import { loadRuleSet } from "../tracker/alerts.ts";
import { TraceConfigError } from "../tracker/errors.ts";
import { escapeJsonLine } from "../tracker/escape.ts";
import { EventWriter } from "../tracker/output.ts";
import type { TraceSink } from "../tracker/sink.ts";
import { Summary } from "../tracker/summary.ts";
import { openTrace, type Trace } from "../tracker/trace.ts";
import { VERSION } from "../version.ts";
import type { Command } from "./command.ts";
import { plainHost } from "./host.ts";
import { renderOptionsHelp } from "./options.ts";
import { capsToKeep } from "./trace-caps.ts";
import { parseTraceArgs, TRACE_OPTIONS, type TraceCliConfig } from "./trace-options.ts";

export const TRACE_DESCRIPTION = `Trace process lifecycle events system-wide (or for one command tree): fork, exec
with the full argv, failed execs, and exit with its code, signal or core dump, the
command that ran and its lifetime.
Stop with Ctrl+C (or SIGTERM): the programs are detached, and text mode prints a
summary (counts, failed and slowest processes, alerts) and the tree of processes
that ran. A second Ctrl+C exits at once.

Privileges: root, or CAP_BPF + CAP_PERFMON (e.g. as ambient capabilities); not root,
--failed also needs CAP_DAC_READ_SEARCH (tracefs, where tracepoint ids are read, is
root's only), and CAP_SYS_PTRACE lets it read /proc/PID/exe of other users'
processes that predate the trace. Once attached, tsbpf gives up every capability it
no longer needs (CAP_SYS_PTRACE when /proc has been read; CAP_DAC_OVERRIDE is kept
only when the -o or spool directory needs it).

With '-- CMD ARGS...', tsbpf attaches first, then runs CMD (stdio inherited) and
traces only it and its descendants, like 'strace -f'; it exits with CMD's exit
status (128+N when CMD is killed by signal N). CMD's output and the events share
stdout unless the events go elsewhere: -o FILE, or --output-fd 2 (stderr, as strace).
CMD runs with your uid and groups and never inherits tsbpf's capabilities (ambient
and inheritable sets are emptied, and a confined root's command gets none); a root
holding CAP_SYS_ADMIN runs CMD as root, as 'sudo CMD' would.

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
  async run(args, host = plainHost) {
    phase("trace: started");
    const cfg = parseTraceArgs(args);
    if (!cfg.quiet) for (const n of cfg.notes) process.stderr.write(`tsbpf: note: ${n}\n`);
    const rules = loadRuleSet({ rulesFile: cfg.rulesFile, allowlistFile: cfg.allowlistFile });
    if (cfg.html !== undefined) checkHtmlPath(cfg.html);
    phase("trace: options and rules read");

    // Metrics server and NATS first: a busy port or a bad URL fails before anything is loaded.
    const exports = await startExports(cfg);
    if (timingOn()) {
      // koffi's addon and libc are otherwise loaded by the first syscall (the feature
      // probe): load them here so that their cost is a phase of its own.
      preloadLibc();
      phase("koffi and libc loaded");
    }
    // Before any per-event code is optimized (the single binary's compiler setting).
    host.beforeTrace?.();
    let t: Trace;
    try {
      t = await openTrace({
        ...cfg.trace,
        rules,
        // What the running tracer does not need is given up once attached, and `-- CMD`
        // never gets it (src/tracker/privileges.ts).
        dropCapabilities: true,
        keepCapabilities: capsToKeep(cfg),
        ...(exports?.metrics ? { observe: (ev) => exports.observe(ev) } : {}),
        // /proc is read while events flow: the first events are not held up by it,
        // and each event still sees its process's ancestry.
        seedProc: "background",
        // A command's whole tree is summarised at its end, not just its last 5 s.
        ...(cfg.command && !cfg.json && !cfg.noSummary
          ? { table: { graceMs: Number.POSITIVE_INFINITY } }
          : {}),
        ...(timingOn() ? { onPhase: phase } : {}),
        files: host.files,
        consumeLoop: host.consumeLoop,
        warmUp: host.warmUp,
      });
    } catch (e) {
      await exports?.close().catch(() => undefined);
      throw asCliError(e);
    }
    const opened = t;
    host.traceOpened?.();
    exports?.bind({ processTableSize: () => opened.table.size, kernelStats: () => opened.kernelStats() });
    try {
      return await printTrace(t, cfg, exports);
    } finally {
      t.close();
      await exports?.close().catch(() => undefined);
    }
  },
};

async function printTrace(t: Trace, cfg: TraceCliConfig, exports: TraceExports | undefined): Promise<number> {
  const toTerminal = cfg.output === undefined && process.stdout.isTTY === true && (cfg.outputFd ?? 1) === 1;
  const color = !cfg.json && toTerminal && !process.env.NO_COLOR;
  // -o FILE: rotated by size when asked, and reopened on SIGHUP (src/export/rotate.ts).
  const file = cfg.output !== undefined ? await openOutputFile(cfg.output, cfg) : undefined;
  const out = new EventWriter(
    file !== undefined
      ? { stream: file }
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
        if (out.writeError !== undefined) {
          // The output failed (a full disk): the summary goes to stderr instead.
          process.stderr.write(
            `${summary.render(end.table, { color: false, width: 0, root: end.rootPid })}\n`,
          );
          return;
        }
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
  // First: what an exporter could not keep is reported (as `lost`) to the others,
  // also from its end(), which must come before theirs.
  if (exports) sinks.unshift(exports.sink([...sinks]));
  // logrotate's convention: SIGHUP makes a daemon reopen its log file.
  const onHup = () => {
    out.flush();
    file?.reopen();
  };
  if (file) process.on("SIGHUP", onHup);

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
    if (out.writeError !== undefined) {
      // One line, after the summary: the programs were detached when the trace stopped.
      process.stderr.write(`tsbpf: trace: ${out.writeError}; tracing stopped, programs detached\n`);
      return 1;
    }
    return end.command?.status ?? 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onHup);
  }
}

/** The export layer (src/export), loaded only when an export option is given. */
async function startExports(cfg: TraceCliConfig): Promise<TraceExports | undefined> {
  const o = cfg.export.exports;
  if (!o) return undefined;
  const { TraceExports } = await import("../export/index.ts");
  const x = await TraceExports.start({
    ...o,
    version: VERSION,
    onWarning: (msg) => process.stderr.write(`tsbpf: trace: ${msg}\n`),
  });
  const a = x.metricsAddress;
  if (a && !cfg.quiet) {
    const host = a.host.includes(":") ? `[${a.host}]` : a.host;
    process.stderr.write(`tsbpf: trace: metrics at http://${host}:${a.port}/metrics\n`);
  }
  return x;
}

/**
 * -o FILE through RotatingFile: created 0600 and never through a symlink; truncated at
 * start unless it rotates (a restarted daemon appends: a shipper may not have read
 * the end yet).
 */
async function openOutputFile(path: string, cfg: TraceCliConfig) {
  const { RotatingFile } = await import("../export/rotate.ts");
  try {
    return new RotatingFile(path, {
      maxBytes: cfg.export.rotateSize,
      keep: cfg.export.rotateKeep,
      truncate: cfg.export.rotateSize === undefined,
      mode: cfg.outputMode,
    });
  } catch (e) {
    throw new TsbpfError(`trace: -o: ${(e as Error).message}`);
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
