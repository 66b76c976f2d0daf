/**
 * `tsbpf/tracker`: the process-lifecycle tracer as a library. openTrace() does what
 * `tsbpf trace` does — loads and attaches bpf/process.bpf.o, runs a command traced
 * from its first instruction, resolves a cgroup or container, evaluates rules, applies
 * the user filters — and yields fork, exec, exit and alert events (docs/events.md), or
 * feeds them to sinks (TraceSink: the NDJSON/text EventWriter, the Summary, your own).
 * openSession() is the kernel side alone.
 * @packageDocumentation
 */

export { loadRuleSet, RuleEvaluator, type RuleSetFiles } from "./alerts.ts";
export type { CommandResult } from "./command.ts";
export { RulesError, TraceConfigError, TracePrivilegeError } from "./errors.ts";
export type {
  AlertEvent,
  BaseEvent,
  EventKind,
  ExecEvent,
  ExecFailedEvent,
  ExitEvent,
  ForkEvent,
  LostEvent,
  Severity,
  TraceEvent,
} from "./events.ts";
export { EventFilter, type EventFilterOptions, isFailedExit } from "./filter.ts";
export { EventWriter, type EventWriterOptions, type OutputTarget } from "./output.ts";
export type { Rule } from "./rules.ts";
export type { TraceEnd, TraceSink } from "./sink.ts";
export { type DrainWarmUp, openSession, type SessionOptions, type TraceSession } from "./source.ts";
export { Summary, type SummaryOptions, type SummaryRenderOptions } from "./summary.ts";
export { openTrace, type Trace, type TraceConfig } from "./trace.ts";
