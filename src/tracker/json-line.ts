// The NDJSON line of one trace event, written field by field for the event kinds the
// tracer produces per record (fork, exec, exec_failed, exit): a fork storm's hot path.
// The generic escapeJsonLine (JSON.stringify, then a scan of the whole line for
// characters unsafe on a terminal) cost ~2.5 µs per exit event; here numbers and our
// own strings (time, exec ids) are written as they are, and only strings a traced
// process controls (comm, filename, argv, env) are checked, with a one-regex fast
// path for plain printable ASCII.
//
// The output is byte-identical to escapeJsonLine(ev) for events built by
// src/tracker/build.ts: keys in their insertion order there (docs/events.md), optional
// keys only when present, `undefined` fields left out as JSON.stringify does.
// test/tracker/json-line.test.ts checks that equality over generated events. Anything
// else (alert, lost, an event with a field of an unexpected type) goes through
// escapeJsonLine.
import { escapeJsonLine } from "./escape.ts";
import type { BaseEvent, ExecEvent, ExecFailedEvent, ExitEvent, ForkEvent, TraceEvent } from "./events.ts";

/** Printable ASCII other than '"' and '\\': JSON.stringify leaves it as is, and nothing in it needs escaping. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Thrown (and caught below) when a field is not of the documented type: use the generic path. */
class NotPlain {}
const NOT_PLAIN = new NotPlain();

function bad(): never {
  throw NOT_PLAIN;
}

/** A JSON string, with the terminal-unsafe characters escapeJsonLine escapes escaped too. */
function str(v: unknown): string {
  if (typeof v !== "string") bad();
  return PLAIN.test(v) ? `"${v}"` : escapeJsonLine(v);
}

function num(v: unknown): string {
  if (typeof v !== "number") bad();
  // JSON.stringify writes non-finite numbers as null.
  return Number.isFinite(v) ? `${v}` : "null";
}

function bool(v: unknown): string {
  return v === true ? "true" : v === false ? "false" : bad();
}

function strArray(a: unknown): string {
  if (!Array.isArray(a)) bad();
  let s = "[";
  for (let i = 0; i < a.length; i++) s += i === 0 ? str(a[i]) : `,${str(a[i])}`;
  return `${s}]`;
}

/** `,"key":value` for an optional field (left out when undefined, as JSON.stringify does). */
function optNum(key: string, v: unknown): string {
  return v === undefined ? "" : `,"${key}":${num(v)}`;
}

/** The common fields (build.ts base()), from `time` on; `event` is written by the caller. */
function common(ev: BaseEvent): string {
  return (
    `,"time":${str(ev.time)},"pid":${num(ev.pid)}${optNum("tid", ev.tid)},"ppid":${num(ev.ppid)}` +
    `,"uid":${num(ev.uid)},"gid":${num(ev.gid)},"comm":${str(ev.comm)}` +
    `,"exec_id":${str(ev.exec_id)},"parent_exec_id":${str(ev.parent_exec_id)}` +
    `${optNum("cgroup_id", ev.cgroup_id)}${optNum("pidns", ev.pidns)}${optNum("ns_pid", ev.ns_pid)}`
  );
}

function fork(ev: ForkEvent): string {
  return (
    `{"event":"fork"${common(ev)},"child_pid":${num(ev.child_pid)},"child_tid":${num(ev.child_tid)}` +
    `,"thread":${bool(ev.thread)}${ev.child_exec_id === undefined ? "" : `,"child_exec_id":${str(ev.child_exec_id)}`}`
  );
}

function exit(ev: ExitEvent): string {
  return (
    `{"event":"exit"${common(ev)},"exit_code":${num(ev.exit_code)}` +
    `,"signal":${ev.signal === null ? "null" : num(ev.signal)}` +
    `,"signal_name":${ev.signal_name === null ? "null" : str(ev.signal_name)}` +
    `,"core_dumped":${bool(ev.core_dumped)},"lifetime_ns":${num(ev.lifetime_ns)},"status":${num(ev.status)}` +
    `${ev.thread === undefined ? "" : `,"thread":${bool(ev.thread)}`}`
  );
}

function exec(ev: ExecEvent): string {
  let s =
    `{"event":"exec"${common(ev)},"filename":${str(ev.filename)},"argv":${strArray(ev.argv)}` +
    `,"argc":${num(ev.argc)},"argv_truncated":${bool(ev.argv_truncated)}`;
  if (ev.env !== undefined) s += `,"env":${strArray(ev.env)}`;
  if (ev.env_truncated !== undefined) s += `,"env_truncated":${bool(ev.env_truncated)}`;
  s += optNum("old_pid", ev.old_pid);
  if (ev.exe !== undefined) s += `,"exe":${str(ev.exe)}`;
  return s;
}

function execFailed(ev: ExecFailedEvent): string {
  return `{"event":"exec_failed"${common(ev)},"filename":${str(ev.filename)},"errno":${num(ev.errno)},"error":${str(ev.error)}`;
}

/**
 * One NDJSON line (no newline) for `ev`, equal to escapeJsonLine(ev) (or, with
 * `elapsedS`, to escapeJsonLine({ ...ev, elapsed_s: elapsedS })).
 */
export function eventJsonLine(ev: TraceEvent, elapsedS?: number): string {
  const tail =
    elapsedS === undefined ? "}" : `,"elapsed_s":${Number.isFinite(elapsedS) ? elapsedS : "null"}}`;
  try {
    switch (ev.event) {
      case "fork":
        return fork(ev) + tail;
      case "exit":
        return exit(ev) + tail;
      case "exec":
        return exec(ev) + tail;
      case "exec_failed":
        return execFailed(ev) + tail;
    }
  } catch (e) {
    if (e !== NOT_PLAIN) throw e;
  }
  return escapeJsonLine(elapsedS === undefined ? ev : { ...ev, elapsed_s: elapsedS });
}
