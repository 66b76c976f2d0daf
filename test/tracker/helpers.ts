// Synthetic event builders for tracker tests.
import type { ExecEvent, ExitEvent, ForkEvent } from "../../src/tracker/events.ts";

let clock = Date.parse("2024-05-01T12:00:00.000Z");
export const at = (ms: number) => new Date(ms).toISOString();
export const nextTime = (stepMs = 1) => at((clock += stepMs));

export const id = (pid: number) => `${pid}-${pid * 10}`;

export function fork(pid: number, ppid: number, child: number, extra: Partial<ForkEvent> = {}): ForkEvent {
  return {
    event: "fork",
    time: nextTime(),
    pid,
    tid: pid,
    ppid,
    uid: 0,
    gid: 0,
    comm: "parent",
    exec_id: id(pid),
    parent_exec_id: id(ppid),
    child_pid: child,
    child_tid: child,
    thread: false,
    child_exec_id: id(child),
    ...extra,
  };
}

export function exec(pid: number, ppid: number, argv: string[], extra: Partial<ExecEvent> = {}): ExecEvent {
  const filename = extra.filename ?? argv[0];
  return {
    event: "exec",
    time: nextTime(),
    pid,
    tid: pid,
    ppid,
    uid: 1000,
    gid: 1000,
    comm: filename.slice(filename.lastIndexOf("/") + 1).slice(0, 15),
    exec_id: id(pid),
    parent_exec_id: id(ppid),
    filename,
    argv,
    argc: argv.length,
    argv_truncated: false,
    ...extra,
  };
}

export function exit(pid: number, ppid: number, status = 0, extra: Partial<ExitEvent> = {}): ExitEvent {
  const sig = status & 0x7f;
  return {
    event: "exit",
    time: nextTime(),
    pid,
    tid: pid,
    ppid,
    uid: 1000,
    gid: 1000,
    comm: "x",
    exec_id: id(pid),
    parent_exec_id: id(ppid),
    exit_code: (status >> 8) & 0xff,
    signal: sig || null,
    signal_name: sig === 9 ? "SIGKILL" : sig ? `SIG${sig}` : null,
    core_dumped: (status & 0x80) !== 0,
    lifetime_ns: 1_500_000_000,
    status,
    filename: "",
    argv: [],
    argv_truncated: false,
    ...extra,
  };
}
