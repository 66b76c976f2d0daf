// Synthetic trace events for the report tests, in the NDJSON schema of docs/events.md.
import type { RawEvent } from "../../src/report/parse.ts";

const BASE = Date.parse("2026-01-02T03:04:05Z");

/** ISO time `us` microseconds after a fixed start. */
export function at(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(BASE + ms).toISOString().slice(0, 19);
  const frac = String((ms % 1000) * 1000 + (us % 1000)).padStart(6, "0");
  return `${iso}.${frac}Z`;
}

export interface P {
  pid: number;
  ppid: number;
  id: string;
  parent: string;
  comm: string;
}

export const proc = (pid: number, ppid: number, comm: string, parent?: P): P => ({
  pid,
  ppid,
  id: `${pid}-${1000 + pid}`,
  parent: parent?.id ?? `${ppid}-${1000 + ppid}`,
  comm,
});

const common = (p: P) => ({
  pid: p.pid,
  tid: p.pid,
  ppid: p.ppid,
  uid: 1000,
  gid: 1000,
  comm: p.comm,
  exec_id: p.id,
  parent_exec_id: p.parent,
  cgroup_id: 77,
});

export function fork(us: number, parent: P, child: P, withChildId = true): RawEvent {
  return {
    event: "fork",
    time: at(us),
    ...common(parent),
    child_pid: child.pid,
    child_tid: child.pid,
    thread: false,
    ...(withChildId ? { child_exec_id: child.id } : {}),
  };
}

export function exec(us: number, p: P, argv: string[], filename = `/usr/bin/${argv[0]}`): RawEvent {
  return {
    event: "exec",
    time: at(us),
    ...common(p),
    pidns: 4026531836,
    ns_pid: p.pid,
    filename,
    argv,
    argc: argv.length,
    argv_truncated: false,
  };
}

export function exit(
  us: number,
  p: P,
  code = 0,
  signal: number | null = null,
  core = false,
  life?: number,
): RawEvent {
  return {
    event: "exit",
    time: at(us),
    ...common(p),
    exit_code: code,
    signal,
    signal_name: signal === null ? null : signal === 9 ? "SIGKILL" : "SIGSEGV",
    core_dumped: core,
    lifetime_ns: life ?? 0,
    status: signal === null ? code << 8 : signal | (core ? 0x80 : 0),
  };
}

/** A make -j2 shaped trace: make → cc a, cc b in parallel (b slower), then cc -o app. */
export function makeLike(): { events: RawEvent[]; make: P; a: P; b: P; link: P; ld: P } {
  const make = proc(100, 1, "make");
  const a = proc(101, 100, "cc", make);
  const b = proc(102, 100, "cc", make);
  const link = proc(103, 100, "cc", make);
  const ld = proc(104, 103, "ld", link);
  const events: RawEvent[] = [
    exec(0, make, ["make", "-j2"]),
    fork(1000, make, a),
    fork(1100, make, b),
    exec(1500, a, ["cc", "-c", "a.c"]),
    exec(1600, b, ["cc", "-c", "b.c"]),
    exit(50_000, a, 0, null, false, 49_000_000),
    exit(90_000, b, 0, null, false, 88_900_000),
    fork(91_000, make, link),
    exec(91_500, link, ["cc", "-o", "app", "a.o", "b.o"]),
    fork(92_000, link, ld),
    exec(92_300, ld, ["ld", "-o", "app"]),
    exit(120_000, ld),
    exit(121_000, link),
    exit(122_000, make),
  ];
  return { events, make, a, b, link, ld };
}
