// openTrace(): everything `tsbpf trace` does, as a library call. On top of the kernel
// session (source.ts) it resolves cgroup paths and container ids, checks privileges,
// runs a command traced from its first instruction, evaluates rules on each exec and
// applies the user-space filters. Front ends only choose options and print.
import type { StdioOptions } from "node:child_process";
import { capGet } from "../sys/caps.ts";
import { RuleEvaluator } from "./alerts.ts";
import type { TracerKernelStats } from "./bpf-load.ts";
import { cgroupIdOfContainer, cgroupIdOfPath } from "./cgroup.ts";
import { type CommandResult, type GatedCommand, spawnGated } from "./command.ts";
import { type EnvRedactionOptions, EnvRedactor } from "./env-redact.ts";
import { TraceConfigError } from "./errors.ts";
import type { TraceEvent } from "./events.ts";
import { EventFilter, type EventFilterOptions } from "./filter.ts";
import {
  checkTracePrivileges,
  clearInheritedCapabilities,
  commandKeepsRoot,
  dropAfterAttach,
} from "./privileges.ts";
import type { ProcessTable } from "./process-table.ts";
import { BUILTIN_RULES, type Rule } from "./rules.ts";
import type { TraceEnd, TraceSink } from "./sink.ts";
import { openSession, type SessionOptions, type TraceSession } from "./source.ts";

export interface TraceConfig
  extends SessionOptions,
    Pick<EventFilterOptions, "comm" | "alertsOnly" | "exitFailed"> {
  /**
   * Run this command (argv, looked up in PATH) and trace only it and its descendants,
   * from its first instruction; the trace stops when it exits.
   */
  command?: readonly string[];
  /** stdio of the command's fds 0-2 (default: inherited). */
  commandStdio?: StdioOptions;
  /** Only this process and its descendants (the kernel filter, like rootPids: [pid]). */
  pid?: number;
  /** Only this cgroup v2: a directory under the cgroup2 mount, or a path relative to it. */
  cgroup?: string;
  /** Only the cgroup of this container (docker/podman/containerd id, or a prefix of 4+ hex digits). */
  container?: string;
  /** Rules evaluated on every exec (default: the built-in ones; [] for none). See loadRuleSet(). */
  rules?: readonly Rule[];
  /**
   * Show at most this many arguments per exec and exit (execsnoop's --max-args); a cut
   * argv has argv_truncated set, argc stays the real count. Rules see the whole argv.
   * (maxArgsBytes is the kernel's byte budget.)
   */
  maxArgs?: number;
  /** Stop after this many ms. */
  durationMs?: number;
  /**
   * With env: values of secret-looking keys (DEFAULT_REDACT: *SECRET*, *TOKEN*,
   * *PASSWORD*, *_KEY, …) become "***"; add key globs with redact, exempt some with keep.
   */
  envRedaction?: EnvRedactionOptions;
  /** Check for root or CAP_BPF + CAP_PERFMON first, for a clear error (default true). */
  checkPrivileges?: boolean;
  /**
   * Once attached, give up every capability the running tracer no longer needs, and
   * start `command` with none of them (privileges.ts dropAfterAttach). It changes this
   * process's credentials (its main thread's, and what later children inherit), so it
   * is off unless asked; `tsbpf trace` asks.
   */
  dropCapabilities?: boolean;
  /** With dropCapabilities: capabilities to keep anyway, a mask of 1n << CAP_* (src/sys/caps.ts). */
  keepCapabilities?: bigint;
  /**
   * Sees every event and alert before the user filters, in order (metrics count what
   * the kernel reported, whatever the output shows).
   */
  observe?: (ev: TraceEvent) => void;
}

/** A running trace (openTrace()): its process table, its events, and close(). */
export interface Trace {
  /** Processes seen (seeded from /proc, updated by every event, filtered or not). */
  readonly table: ProcessTable;
  /** Wall-clock ms when the programs were attached. */
  readonly startedAt: number;
  /** The running command, when the config had one. */
  readonly command: GatedCommand | undefined;
  /** The traced command's pid, or `pid`; undefined when tracing the whole machine. */
  readonly rootPid: number | undefined;
  /** The user-space filters in use. */
  readonly filter: EventFilter;
  /** Ring-buffer fill and per-program BPF run time, read now (for metrics). */
  kernelStats(): TracerKernelStats;
  /**
   * The events that pass the filters, a batch at a time (alerts right after their
   * exec). Each array is reused: valid until the next iteration. Ends after stop(), the
   * command's exit or `durationMs`.
   */
  batches(opts?: { signal?: AbortSignal }): AsyncIterable<readonly TraceEvent[]>;
  /** The same, one event at a time. Use either this or batches(), once. */
  events(opts?: { signal?: AbortSignal }): AsyncIterable<TraceEvent>;
  /** Feeds every event to the sinks until the trace ends, then calls their end(). */
  run(sinks: readonly TraceSink[], opts?: { signal?: AbortSignal }): Promise<TraceEnd>;
  /** Detach now; the stream drains what is left and ends. */
  stop(): void;
  /** Detach and free everything (idempotent). */
  close(): void;
  /** Same as close(). */
  [Symbol.dispose](): void;
}

/** Resolves the config's cgroup or container to the kernel filter's cgroup id. */
export function resolveCgroup(
  cfg: Pick<TraceConfig, "cgroup" | "container" | "cgroupId">,
): bigint | undefined {
  const given = [cfg.cgroup, cfg.container, cfg.cgroupId].filter((x) => x !== undefined).length;
  if (given > 1)
    throw new TraceConfigError(
      "cgroup",
      String(cfg.cgroup ?? cfg.cgroupId),
      "give one of cgroup, container, cgroupId",
    );
  if (cfg.cgroup !== undefined) return cgroupIdOfPath(cfg.cgroup);
  if (cfg.container !== undefined) return cgroupIdOfContainer(cfg.container).id;
  return cfg.cgroupId;
}

/** Does what `tsbpf trace` does: checks privileges, resolves cgroup/container, loads and attaches the tracer, runs the command traced from its first instruction, evaluates rules and filters, and feeds events to the sinks. */
export async function openTrace(cfg: TraceConfig = {}): Promise<Trace> {
  if (cfg.command !== undefined && cfg.command.length === 0)
    throw new TraceConfigError("command", "[]", "expected a command and its arguments");
  if (cfg.command !== undefined && cfg.pid !== undefined)
    throw new TraceConfigError("pid", String(cfg.pid), "cannot be combined with a command");
  const filter = new EventFilter({ comm: cfg.comm, alertsOnly: cfg.alertsOnly, exitFailed: cfg.exitFailed });
  const cgroupId = resolveCgroup(cfg);
  if (cfg.checkPrivileges !== false) checkTracePrivileges();
  let rootPids = cfg.rootPids;
  if (cfg.pid !== undefined) rootPids = [cfg.pid];
  if (cfg.command !== undefined) rootPids = [];
  const session = await openSession({ ...cfg, cgroupId, rootPids });
  let command: GatedCommand | undefined;
  try {
    const drop = cfg.dropCapabilities === true;
    const keep = cfg.keepCapabilities ?? 0n;
    const dropNow = () => {
      dropAfterAttach(session.seeding, keep);
      // /proc/PID/exe reads end with the seeding, and CAP_SYS_PTRACE with them.
      if (session.seeding) void session.seeded.then(() => dropAfterAttach(false, keep));
    };
    if (cfg.command !== undefined) {
      // An administrator's command runs as root, as it would without the tracer: it is
      // forked before the tracer gives its capabilities up. Any other gets none of them.
      const keepsRoot = drop && commandKeepsRoot(process.geteuid?.() ?? -1, capGet().effective);
      if (keepsRoot) clearInheritedCapabilities();
      else if (drop) dropNow();
      command = await spawnGated(cfg.command, cfg.commandStdio);
      if (command.pid !== undefined) session.track(command.pid);
      // Its exit record is already in the ring when we hear of it (sched_process_exit
      // runs before the parent is notified): stop() detaches, then the stream drains.
      void command.done.then(() => session.stop());
      if (keepsRoot) dropNow();
      command.release();
    } else if (drop) dropNow();
  } catch (e) {
    session.close();
    throw e;
  }
  return new FilteredTrace(
    session,
    filter,
    new RuleEvaluator(cfg.rules ?? BUILTIN_RULES, session.table),
    command,
    command?.pid ?? cfg.pid,
    cfg.durationMs,
    cfg.maxArgs,
    cfg.observe,
    cfg.env ? new EnvRedactor(cfg.envRedaction) : undefined,
  );
}

/** setTimeout() holds at most 2^31-1 ms (~24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 0x7fffffff;
function longTimeout(ms: number, fn: () => void, set: (t: ReturnType<typeof setTimeout>) => void): void {
  if (ms > MAX_TIMER_MS) set(setTimeout(() => longTimeout(ms - MAX_TIMER_MS, fn, set), MAX_TIMER_MS));
  else set(setTimeout(fn, ms));
}

class FilteredTrace implements Trace {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly session: TraceSession,
    readonly filter: EventFilter,
    private readonly rules: RuleEvaluator,
    readonly command: GatedCommand | undefined,
    readonly rootPid: number | undefined,
    durationMs: number | undefined,
    private readonly maxArgs: number | undefined,
    private readonly observe: ((ev: TraceEvent) => void) | undefined,
    private readonly env: EnvRedactor | undefined,
  ) {
    if (durationMs !== undefined)
      longTimeout(
        durationMs,
        () => this.stop(),
        (t) => {
          this.timer = t;
        },
      );
  }

  get table(): ProcessTable {
    return this.session.table;
  }

  get startedAt(): number {
    return this.session.startedAt;
  }

  kernelStats(): TracerKernelStats {
    return this.session.kernelStats();
  }

  async *batches(opts: { signal?: AbortSignal } = {}): AsyncGenerator<readonly TraceEvent[]> {
    const out: TraceEvent[] = [];
    const filter = this.filter;
    const rules = this.rules;
    const command = this.command;
    const maxArgs = this.maxArgs;
    const observe = this.observe;
    const env = this.env;
    for await (const batch of this.session.batches(opts)) {
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i] as TraceEvent;
        if (command?.isGateExec(ev)) continue;
        if (env !== undefined && ev.event === "exec" && ev.env !== undefined) env.apply(ev.env);
        const alerts = rules.check(ev);
        if (observe !== undefined) {
          observe(ev);
          if (alerts !== undefined) for (const a of alerts) observe(a);
        }
        if (filter.pass(ev)) {
          if (maxArgs !== undefined) capArgs(ev, maxArgs);
          out.push(ev);
        }
        if (alerts !== undefined) for (const a of alerts) if (filter.pass(a)) out.push(a);
      }
      if (out.length > 0) {
        yield out;
        out.length = 0;
      }
    }
  }

  async *events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<TraceEvent> {
    for await (const batch of this.batches(opts)) for (const ev of batch) yield ev;
  }

  async run(sinks: readonly TraceSink[], opts: { signal?: AbortSignal } = {}): Promise<TraceEnd> {
    for await (const batch of this.batches(opts)) {
      for (let i = 0; i < batch.length; i++) {
        const ev = batch[i] as TraceEvent;
        for (const s of sinks) s.write(ev);
      }
      for (const s of sinks) {
        s.flush?.();
        if (s.broken) this.stop();
      }
    }
    const commandResult: CommandResult | undefined = this.command ? await this.command.done : undefined;
    const end: TraceEnd = {
      table: this.table,
      startedAt: this.startedAt,
      rootPid: this.rootPid,
      command: commandResult,
    };
    for (const s of sinks) await s.end?.(end);
    return end;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.session.stop();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.session.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Cuts an exec's or exit's argv to `max` arguments (a new array: the process table
 * keeps the whole one) and flags it.
 */
export function capArgs(ev: TraceEvent, max: number): void {
  if ((ev.event === "exec" || ev.event === "exit") && ev.argv.length > max) {
    ev.argv = ev.argv.slice(0, max);
    ev.argv_truncated = true;
  }
}
