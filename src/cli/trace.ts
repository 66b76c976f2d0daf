// `tsbpf trace`: watch processes start, exec and exit, with full argv and exit status.
import type { ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { dirname, resolve } from "node:path";
import { TsbpfError } from "../errors.ts";
import { phase, timingOn } from "../timing.ts";
import { escapeJsonLine } from "../tracker/escape.ts";
import type { TraceEvent } from "../tracker/events.ts";
import { useTracerJitPolicy } from "../tracker/jit-policy.ts";
import { openTrace, type TraceSession } from "../tracker/source.ts";
import type { Command } from "./command.ts";
import { parseTraceArgs } from "./trace-options.ts";
import { loadUserRules, TraceOutput } from "./trace-output.ts";

const help = `Usage: tsbpf trace [options] [-- CMD [ARGS...]]

Trace process lifecycle events system-wide (or for one command tree): fork, exec
with the full argv, failed execs, and exit with its code, signal or core dump.
Needs root, or CAP_BPF + CAP_PERFMON. Stop with Ctrl+C (or SIGTERM): the programs
are detached, and text mode prints a summary and the tree of processes that ran.
A second Ctrl+C exits at once.

With '-- CMD ARGS...', tsbpf attaches first, then runs CMD (stdio inherited) and
traces only it and its descendants, like 'strace -f'; it exits with CMD's exit
status (128+N when CMD is killed by signal N).

Output:
      --json              one JSON object per line (schema: docs/events.md)
  -o, --output FILE       write events to FILE instead of stdout
  -t, --time abs|rel      wall-clock times (default), or seconds since the start
                          (JSON: adds "elapsed_s")
      --html FILE         also draw the trace as an HTML timeline when it ends
                          (what 'tsbpf report' writes)
Filters:
  -p, --pid PID           only PID and its descendants (in the kernel)
  -u, --uid UID           only processes with this real uid (in the kernel)
  -c, --comm NAME         only events whose comm matches NAME (glob: 'py*')
      --cgroup PATH       only this cgroup v2 (path under /sys/fs/cgroup)
      --container ID      only the cgroup of this container (id prefix)
      --pidns INODE       only this pid namespace (inode, as in /proc/PID/ns/pid)
Events:
  -x, --failed            also report failed execs (exec_failed, with errno)
  -T, --threads           also report thread creation and thread exits
  -e, --env               capture each exec's environment
      --max-args N        argv bytes captured per exec (1..32768, default 4096);
                          longer argvs are cut and flagged argv_truncated
Rules:
      --rules FILE        user rules (JSON) on top of the built-in ones
      --allowlist FILE    alert on any executable not listed (paths, globs)
      --alerts-only       print only alerts (and lost-event reports)
      --rate-limit N/s    at most N fork/exec events per second per cgroup, in the
                          kernel (exits are never dropped; drops are reported)
Other:
  -d, --duration S        stop after S seconds
      --btf FILE          kernel BTF to use for CO-RE instead of /sys/kernel/btf/vmlinux
      --no-cache          redo CO-RE instead of reusing results stored for this
                          kernel (also TSBPF_NO_CACHE=1)
      --ring-size SIZE    events ring buffer size; default 2M (power of two >= 4K,
                          K/M suffixes; with the perf fallback: per CPU, default 1M).
                          Records that do not fit are reported as lost
  -h, --help              show this help

Examples:
  tsbpf trace
  tsbpf trace --json -o events.ndjson --failed
  tsbpf trace -- make -j4
  tsbpf trace --uid 1000 --comm 'python*'`;

/** CAP_PERFMON (38) and CAP_BPF (39), include/uapi/linux/capability.h. */
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function checkPrivileges(): void {
  if (process.geteuid?.() === 0) return;
  let eff = 0n;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) eff = BigInt(`0x${m[1]}`);
  } catch {
    // Without /proc we cannot tell; let the kernel decide.
    return;
  }
  const has = (c: bigint) => (eff >> c) & 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return;
  throw new TsbpfError("trace needs root, or CAP_BPF + CAP_PERFMON");
}

/**
 * Starts CMD behind a gate: a shell that waits for one line on fd 3, then execs CMD.
 * The caller adds the gate's pid to the kernel filter before opening the gate, so
 * even CMD's first exec is seen. spawn() returns after the shell's own exec.
 */
const GATE_SCRIPT = 'read _ <&3; exec "$@" 3<&-';

async function spawnGated(cmd: string[]): Promise<{ child: ChildProcess; release: () => void }> {
  // Imported here: node:child_process (with net, stream, dgram) costs ~3.5 ms of
  // start-up that plain system-wide tracing does not need.
  const { spawn } = await import("node:child_process");
  const child = spawn("/bin/sh", ["-c", GATE_SCRIPT, "sh", ...cmd], {
    stdio: ["inherit", "inherit", "inherit", "pipe"],
  });
  const gate = child.stdio[3] as NodeJS.WritableStream;
  return {
    child,
    release: () => {
      gate.end("\n");
    },
  };
}

const trace: Command = {
  name: "trace",
  summary: "trace process fork, exec and exit events",
  help,
  async run(args) {
    phase("trace: started");
    const cfg = parseTraceArgs(args);
    const rules = loadUserRules(cfg);
    if (cfg.html !== undefined) checkHtmlPath(cfg.html);
    checkPrivileges();
    // Before any per-event code is optimized (src/tracker/jit-policy.ts).
    useTracerJitPolicy();
    phase("trace: options and rules read");

    // /proc is read while events flow (seedProc "background"): the first events are
    // not held up by it, and each event still sees its process's ancestry.
    const session: TraceSession = await openTrace({
      ...cfg.trace,
      seedProc: "background",
      ...(timingOn() ? { onPhase: phase } : {}),
    });
    let out: TraceOutput;
    try {
      out = new TraceOutput(cfg, rules, session.table, session.startedAt);
    } catch (e) {
      session.close();
      throw e;
    }
    const html = cfg.html !== undefined ? startHtml(out, cfg.html) : undefined;
    phase("output opened");
    let firstEvent = timingOn();

    let exitCode = 0;
    let child: ChildProcess | undefined;
    let childDone: Promise<void> | undefined;
    let interrupts = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      interrupts++;
      if (interrupts > 1) {
        // Second Ctrl+C: leave now. Closing our fds detaches everything in the kernel.
        session.close();
        out.flush();
        process.exit(130);
      }
      // With a command running, it decides (like strace): Ctrl+C from the terminal
      // reached its process group already, SIGTERM aimed at us is passed on; we end
      // when it ends. Otherwise stop now and print the summary.
      if (child && child.exitCode === null && child.signalCode === null) {
        if (sig !== "SIGINT") child.kill(sig);
      } else session.stop();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const timer = cfg.durationMs !== undefined ? setTimeout(() => session.stop(), cfg.durationMs) : undefined;

    try {
      if (cfg.command) {
        const g = await spawnGated(cfg.command);
        child = g.child;
        childDone = new Promise<void>((resolve) => {
          g.child.on("error", (e) => {
            process.stderr.write(`tsbpf: trace: cannot run ${cfg.command?.[0]}: ${e.message}\n`);
            exitCode = 127;
            session.stop();
            resolve();
          });
          g.child.on("exit", (code, signal) => {
            exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
            // Its exit record is already in the ring (sched_process_exit runs before
            // the parent is notified): stop() detaches, then the stream drains.
            session.stop();
            resolve();
          });
        });
        if (g.child.pid !== undefined) session.track(g.child.pid);
        g.release();
      }
      // A drain at a time (TraceSession.batches): no promise per event.
      for await (const batch of session.batches()) {
        for (let i = 0; i < batch.length; i++) {
          const ev = batch[i] as TraceEvent;
          if (child && isGateExec(ev, child.pid)) continue;
          out.event(ev);
          if (firstEvent) {
            firstEvent = false;
            out.flush();
            phase(`first event written (${ev.event} of pid ${ev.pid})`);
          }
          if (out.broken) session.stop();
        }
      }
      await childDone;
      out.finish(session.table);
      await html?.();
    } finally {
      if (timer) clearTimeout(timer);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      session.close();
    }
    return exitCode;
  },
};

/**
 * The gate shell's own exec of /bin/sh is tsbpf's plumbing, not the user's command.
 * It is usually missed (the gate is tracked after spawn() returns), but spawn()
 * returns when exec closes the CLOEXEC status pipe (begin_new_exec), which comes
 * before the sched_process_exec tracepoint, so it is sometimes seen: drop it, or its
 * argv (the whole command) would be reported, and rules would alert on it, twice.
 */
function isGateExec(ev: TraceEvent, gatePid: number | undefined): boolean {
  return ev.event === "exec" && ev.pid === gatePid && ev.argv[1] === "-c" && ev.argv[2] === GATE_SCRIPT;
}

/**
 * trace --html: keeps each event as its NDJSON line (the schema `tsbpf report` reads)
 * and draws them when the trace ends. Returns the function that writes the page.
 */
function startHtml(out: TraceOutput, path: string): () => Promise<void> {
  const lines: string[] = [];
  out.tap = (ev) => lines.push(escapeJsonLine(ev));
  // Imported when the trace ends: the report code costs nothing at start-up.
  return async () => (await import("./report.ts")).writeHtmlReport(lines, path);
}

/** Found out before tracing, not after a long trace: the page is written next to `path`. */
function checkHtmlPath(path: string): void {
  try {
    accessSync(dirname(resolve(path)), fsConstants.W_OK);
  } catch (e) {
    throw new TsbpfError(`trace: cannot write --html ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

function signalNumber(name: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[name] ?? 0;
}

export default trace;
