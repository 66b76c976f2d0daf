/**
 * `tsbpf/tracker`: the process-lifecycle tracer as a library: openTrace() loads
 * bpf/process.bpf.o, attaches it and yields fork, exec and exit events
 * (docs/events.md describes them) until the session is closed.
 * @packageDocumentation
 */
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
export { openTrace, type TraceOptions, type TraceSession } from "./source.ts";
