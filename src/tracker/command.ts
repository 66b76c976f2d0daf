// Running a command traced from its first instruction (`trace -- CMD`, openTrace's
// `command`). The command starts behind a gate: a shell that waits for one line on
// fd 3, then execs CMD. The tracer adds the gate's pid to the kernel's descendant
// filter before opening the gate, so even CMD's first exec is seen.
import type { ChildProcess, StdioOptions } from "node:child_process";
import { constants as osConstants } from "node:os";
import type { TraceEvent } from "./events.ts";

const GATE_SCRIPT = 'read _ <&3; exec "$@" 3<&-';

/** How the traced command ended. */
export interface CommandResult {
  /** Shell-style status: the exit code, 128+N when killed by signal N, 127 when it could not start. */
  status: number;
  /** Exit code, or null when killed by a signal or not started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not be started (spawn error), if so. */
  error?: Error;
}

export interface GatedCommand {
  readonly child: ChildProcess;
  /** The command's pid (the gate's, which execs the command). */
  readonly pid: number | undefined;
  /** Lets the command run. */
  release(): void;
  /** Settles when the command ended (or could not start). */
  readonly done: Promise<CommandResult>;
  /** Still running. */
  running(): boolean;
  /** True for the gate shell's own exec of /bin/sh (see isGateExec). */
  isGateExec(ev: TraceEvent): boolean;
}

/**
 * Starts `argv` held at the gate. `stdio` covers fds 0-2 (default: inherited); fd 3 is
 * the gate. spawn() returns after the shell's own exec.
 */
export async function spawnGated(
  argv: readonly string[],
  stdio: StdioOptions = "inherit",
): Promise<GatedCommand> {
  // Imported here: node:child_process (with net, stream, dgram) costs a few ms of
  // start-up that plain system-wide tracing does not need.
  const { spawn } = await import("node:child_process");
  const std = typeof stdio === "string" ? [stdio, stdio, stdio] : stdio.slice(0, 3);
  const child = spawn("/bin/sh", ["-c", GATE_SCRIPT, "sh", ...argv], { stdio: [...std, "pipe"] });
  const gate = child.stdio[3] as NodeJS.WritableStream;
  // The gate pipe fails with EPIPE if the shell died before reading: that is reported
  // through `done`, not as an unhandled stream error.
  (gate as unknown as { on(ev: string, f: () => void): void }).on("error", () => {});
  const done = new Promise<CommandResult>((resolve) => {
    child.on("error", (error) => resolve({ status: 127, code: null, signal: null, error }));
    child.on("exit", (code, signal) =>
      resolve({ status: code ?? 128 + (signal ? signalNumber(signal) : 0), code, signal }),
    );
  });
  const pid = child.pid;
  return {
    child,
    pid,
    done,
    release: () => gate.end("\n"),
    running: () => child.exitCode === null && child.signalCode === null,
    isGateExec: (ev) => isGateExec(ev, pid),
  };
}

/**
 * The gate shell's own exec of /bin/sh is the tracer's plumbing, not the user's command.
 * It is usually missed (the gate is tracked after spawn() returns), but spawn() returns
 * when exec closes the CLOEXEC status pipe (begin_new_exec), which comes before the
 * sched_process_exec tracepoint, so it is sometimes seen: drop it, or its argv (the
 * whole command) would be reported, and rules would alert on it, twice.
 */
export function isGateExec(ev: TraceEvent, gatePid: number | undefined): boolean {
  return ev.event === "exec" && ev.pid === gatePid && ev.argv[1] === "-c" && ev.argv[2] === GATE_SCRIPT;
}

export function signalNumber(name: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[name] ?? 0;
}
