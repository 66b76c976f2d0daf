// The oracle: test/workload/workload.c creates processes whose every detail it
// knows and writes that ground truth; `tsbpf trace --json -- ./workload ...` must
// report exactly those events: pids, ppids, statuses, argv bytes, truncation.
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ExecEvent, ExitEvent, ForkEvent, TraceEvent } from "../../src/tracker/events.ts";
import { haveTool, privileged } from "../helpers/env.ts";
import {
  type Built,
  buildWorkloads,
  readTruth,
  runTrace,
  stringToHex,
  type Truth,
} from "../workload/oracle.ts";

const enabled = privileged("oracle workload under tsbpf trace") && haveTool("gcc");
let built: Built | undefined;
let runs = 0;

interface Run {
  events: TraceEvent[];
  lines: string[];
  truth: Truth[];
  stderr: string;
}

/** Runs `tsbpf trace --json FLAGS -- workload SCENARIOS` and returns both sides. */
async function traced(flags: string[], scenarios: string[]): Promise<Run> {
  if (!built) built = buildWorkloads();
  const truthPath = join(built.dir, `truth-${runs++}.jsonl`);
  const r = await runTrace(["--json", ...flags, "--", built.workload, ...scenarios], {
    cwd: built.dir,
    env: { TSBPF_ORACLE_TRUTH: truthPath },
    timeoutMs: 180_000,
  });
  assert.is(r.code, 0, `tsbpf trace (or the workload) failed with ${r.code}:\n${r.stderr}`);
  const truth = readTruth(truthPath);
  assert.ok(
    truth.some((t) => t.step === "done"),
    `workload did not finish: ${r.stderr}`,
  );
  return { events: r.events, lines: r.lines, truth, stderr: r.stderr };
}

// ---- queries ----------------------------------------------------------------

const steps = (r: Run, step: string) => r.truth.filter((t) => t.step === step);
function one(r: Run, step: string): Truth {
  const s = steps(r, step);
  assert.is(s.length, 1, `truth has ${s.length} '${step}' records`);
  return s[0] as Truth;
}
const num = (t: Truth, k: string) => {
  const v = t[k];
  assert.type(v, "number", `truth ${t.step}.${k}`);
  return v as number;
};

const forksOf = (r: Run, child: number) =>
  r.events.filter((e): e is ForkEvent => e.event === "fork" && !e.thread && e.child_pid === child);
const execsOf = (r: Run, pid: number) =>
  r.events.filter((e): e is ExecEvent => e.event === "exec" && e.pid === pid);
const exitsOf = (r: Run, pid: number) =>
  r.events.filter((e): e is ExitEvent => e.event === "exit" && !e.thread && e.pid === pid);

function theOne<T>(list: T[], what: string, r: Run): T {
  if (list.length !== 1) {
    const related = r.lines.filter((l) => l.length < 2000).join("\n");
    assert.unreachable(
      `expected exactly 1 ${what}, got ${list.length}\n--- tracer output:\n${related}\n--- stderr:\n${r.stderr}`,
    );
  }
  return list[0] as T;
}

const SIGNAMES: Record<number, string> = { 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM" };

/** Checks an exit event against a waitpid status, decoded here by the <sys/wait.h> rules. */
function assertStatus(ev: ExitEvent, status: number, what: string): void {
  const sig = status & 0x7f;
  assert.is(ev.status, status, `${what}: raw status`);
  if (sig === 0) {
    assert.is(ev.exit_code, (status >> 8) & 0xff, `${what}: exit_code`);
    assert.is(ev.signal, null, `${what}: signal`);
    assert.is(ev.signal_name, null, `${what}: signal_name`);
  } else {
    assert.is(ev.exit_code, 0, `${what}: exit_code of a signal death`);
    assert.is(ev.signal, sig, `${what}: signal`);
    assert.is(ev.signal_name, SIGNAMES[sig], `${what}: signal_name`);
  }
  assert.is(ev.core_dumped, (status & 0x80) !== 0, `${what}: core_dumped`);
  assert.ok(ev.lifetime_ns > 0, `${what}: lifetime_ns`);
}

function assertArgv(ev: ExecEvent, t: Truth, what: string): void {
  assert.is(ev.filename, t.filename, `${what}: filename`);
  assert.equal(ev.argv.map(stringToHex), t.argv, `${what}: argv bytes`);
  assert.is(ev.argc, t.argv?.length, `${what}: argc`);
  assert.is(ev.argv_truncated, false, `${what}: argv_truncated`);
}

const idx = (r: Run, ev: TraceEvent) => r.events.indexOf(ev);

// ---- run 1: every scenario, with --env and the largest argv capture ---------

let all: Run;

test("workload all: runs under tsbpf trace --json --env --arg-bytes 32768", async () => {
  if (!enabled) return;
  all = await traced(["--env", "--arg-bytes", "32768"], ["all"]);
  assert.ok(all.events.length > 0, "no events");
});

test("the traced command itself: exec (argv byte-exact), one exit", () => {
  if (!enabled) return;
  const self = one(all, "self");
  const pid = num(self, "pid");
  const x = theOne(execsOf(all, pid), `exec of the workload (pid ${pid})`, all);
  assert.equal(x.argv, [self.path, "all"]);
  assert.is(x.filename, self.path);
  assert.is(x.ppid, num(self, "ppid"));
  const e = theOne(exitsOf(all, pid), "exit of the workload", all);
  assertStatus(e, 0, "workload");
  assert.is(e.exec_id, x.exec_id, "exec_id stable from exec to exit");
});

/** Every process the workload created, with the parent that forked it. */
function children(r: Run): { pid: number; parent: number; step: string }[] {
  const self = num(one(r, "self"), "pid");
  const out: { pid: number; parent: number; step: string }[] = [];
  for (const t of r.truth) {
    if (t.step === "pidns_helper" || t.step === "threads_status" || t.step === "thread_exec_status")
      out.push({ pid: num(t, "pid"), parent: self, step: t.step });
    else if (t.step === "pidns") out.push({ pid: num(t, "pid"), parent: num(t, "ppid"), step: t.step });
    else if (t.step === "orphan") {
      out.push({ pid: num(t, "parent"), parent: self, step: "orphan_parent" });
      out.push({ pid: num(t, "pid"), parent: num(t, "parent"), step: t.step });
    } else if (typeof t.status === "number" && typeof t.ppid === "number")
      out.push({ pid: num(t, "pid"), parent: num(t, "ppid"), step: t.step });
  }
  return out;
}

test("fork: every process the workload created, exactly once, with its parent; nothing else", () => {
  if (!enabled) return;
  const self = one(all, "self");
  const kids = children(all);
  assert.is(kids.length, 20, "truth lists 20 child processes");
  const ppidOf = new Map<number, number>([[num(self, "pid"), num(self, "ppid")]]);
  for (const k of kids) ppidOf.set(k.pid, k.parent);
  for (const k of kids) {
    const f = theOne(forksOf(all, k.pid), `fork of ${k.step} child ${k.pid}`, all);
    assert.is(f.pid, k.parent, `${k.step}: fork pid (the parent)`);
    assert.is(f.child_tid, k.pid, `${k.step}: child_tid`);
    assert.is(f.ppid, ppidOf.get(k.parent), `${k.step}: fork ppid (the parent's parent)`);
    // The common fields describe the parent (docs/events.md): optional namespace
    // fields, when present, must not be the child's (which differ for the pidns child).
    if (f.pidns !== undefined)
      assert.is(f.pidns, num(self, "pidns"), `${k.step}: fork pidns is the parent's`);
    if (f.ns_pid !== undefined) assert.is(f.ns_pid, k.parent, `${k.step}: fork ns_pid is the parent's`);
  }
  const ours = new Set(kids.map((k) => k.pid));
  const extra = all.events.filter((e) => e.event === "fork" && !ours.has((e as ForkEvent).child_pid));
  assert.equal(extra, [], "fork events for processes the workload did not create");
});

test("exit: every child once, status decoded (codes 0/1/3/255, SIGKILL, SIGTERM, core), ppid, after fork and exec", () => {
  if (!enabled) return;
  for (const t of all.truth) {
    if (typeof t.status !== "number" || typeof t.pid !== "number") continue;
    const e = theOne(exitsOf(all, t.pid), `exit of ${t.step} child ${t.pid}`, all);
    assertStatus(e, t.status, `${t.step} ${t.pid}`);
    const f = forksOf(all, t.pid)[0];
    assert.ok(f && idx(all, f) < idx(all, e), `${t.step}: fork before exit`);
    if (f?.child_exec_id) assert.is(e.exec_id, f.child_exec_id, `${t.step}: exec_id from fork to exit`);
  }
  const codes = steps(all, "exit_code").map((t) => exitsOf(all, num(t, "pid"))[0]?.exit_code);
  assert.equal(codes, [0, 1, 3, 255]);
  const sigs = steps(all, "signal").map((t) => {
    const e = exitsOf(all, num(t, "pid"))[0] as ExitEvent;
    return [e.signal, e.signal_name, e.exit_code, e.core_dumped];
  });
  assert.equal(sigs, [
    [9, "SIGKILL", 0, false],
    [15, "SIGTERM", 0, false],
  ]);
});

test("core dump: SIGSEGV with RLIMIT_CORE unlimited is core_dumped", () => {
  if (!enabled) return;
  const t = one(all, "core");
  const status = num(t, "status");
  // The oracle must really have dumped core (core_pattern here writes ./core in the temp dir).
  assert.is(status & 0xff, 0x80 | 11, `waitpid status ${status}: no core dump happened`);
  const e = theOne(exitsOf(all, num(t, "pid")), "exit of the core-dumping child", all);
  assert.is(e.signal, 11);
  assert.is(e.signal_name, "SIGSEGV");
  assert.is(e.core_dumped, true);
  assert.is(e.exit_code, 0);
});

test("exec: exactly the execs the workload made, argv byte-exact, filename as passed", () => {
  if (!enabled) return;
  const self = num(one(all, "self"), "pid");
  const withArgv = all.truth.filter((t) => t.argv && t.step !== "thread_exec");
  const expected = new Set([
    self,
    ...withArgv.map((t) => num(t, "pid")),
    num(one(all, "thread_exec"), "pid"),
  ]);
  const pidnsChild = num(one(all, "pidns"), "pid");
  expected.add(pidnsChild);
  for (const t of withArgv) {
    const x = theOne(execsOf(all, num(t, "pid")), `exec of ${t.step} child ${t.pid}`, all);
    assertArgv(x, t, t.step);
    const f = forksOf(all, num(t, "pid"))[0];
    assert.ok(f && idx(all, f) < idx(all, x), `${t.step}: fork before exec`);
  }
  const execPids = all.events.filter((e) => e.event === "exec").map((e) => e.pid);
  assert.equal(execPids.length, new Set(execPids).size, "one exec per process");
  assert.equal(new Set(execPids), expected, "exec'd pids");
});

test("execveat: dirfd + relative path, and AT_EMPTY_PATH on an fd", () => {
  if (!enabled) return;
  for (const step of ["execveat_dirfd", "execveat_empty"]) {
    const t = one(all, step);
    const x = theOne(execsOf(all, num(t, "pid")), `${step} exec`, all);
    assert.match(String(t.filename), /^\/dev\/fd\/\d+/);
    assertArgv(x, t, step); // filename: the kernel's "/dev/fd/N[/name]"
  }
});

test("argv: 100 arguments and ~20 KB arrive whole with --arg-bytes 32768", () => {
  if (!enabled) return;
  for (const step of ["args100", "args20k"]) {
    const t = one(all, step);
    const x = theOne(execsOf(all, num(t, "pid")), `${step} exec`, all);
    assert.is(x.argv.length, 100);
    assertArgv(x, t, step);
  }
  const big = one(all, "args20k").argv as string[];
  assert.ok(big.reduce((n, h) => n + h.length / 2 + 1, 0) > 19_000, "the 20 KB argv is really ~20 KB");
});

test("argv: spaces, newlines, UTF-8, escapes, invalid UTF-8 byte-exact; NDJSON line terminal-safe", () => {
  if (!enabled) return;
  const t = one(all, "args_special");
  const x = theOne(execsOf(all, num(t, "pid")), "args_special exec", all);
  assertArgv(x, t, "args_special");
  assert.ok(x.argv.includes("two words") && x.argv.includes("line1\nline2"));
  assert.ok(x.argv.includes("h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c"));
  assert.ok(x.argv.includes("raw\udcff\udcfebytes"), "invalid UTF-8 as surrogateescape");
  const line = all.lines[idx(all, x)] as string;
  // JSON escapes C0; the tracer also escapes DEL, C1 (U+009B is a CSI) and bidi controls.
  assert.not.match(
    line,
    /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/,
    "raw control char in NDJSON",
  );
});

test("env: --env reports the exact environment passed to execve", () => {
  if (!enabled) return;
  const t = one(all, "env");
  const x = theOne(execsOf(all, num(t, "pid")), "env exec", all);
  assert.equal(x.env?.map(stringToHex), t.env);
  assert.is(x.env_truncated, false);
  assert.ok(x.env?.some((v) => v.startsWith("TSBPF_ORACLE_VAR=value ")));
});

test("exec from a non-leader thread: pid stays the tgid, old_pid is the thread; one exit", () => {
  if (!enabled) return;
  const t = one(all, "thread_exec");
  const pid = num(t, "pid");
  const tid = num(t, "tid");
  assert.not.equal(tid, pid);
  const x = theOne(execsOf(all, pid), "exec from the thread", all);
  assertArgv(x, t, "thread_exec");
  assert.is(x.old_pid, tid, "old_pid");
  assert.is(x.tid, pid, "after exec the thread has the leader's id (de_thread)");
  const e = theOne(exitsOf(all, pid), "exit after thread exec", all);
  assert.is(e.exit_code, 4);
  assert.ok(idx(all, x) < idx(all, e));
  assert.is(
    all.events.filter((ev) => ev.pid === tid || (ev.event === "exit" && ev.tid === tid && ev.tid !== pid))
      .length,
    0,
  );
});

test("threads (no --threads): no thread events; one process exit, by the last thread, after the leader left", () => {
  if (!enabled) return;
  const t = one(all, "threads");
  const pid = num(t, "pid");
  const last = num(one(all, "threads_last"), "tid");
  const e = theOne(exitsOf(all, pid), "process exit of the threaded child", all);
  assert.is(e.exit_code, 5);
  assert.is(e.tid, last, "reported by the last thread");
  assert.equal(execsOf(all, pid), [], "no exec");
  assert.equal(
    all.events.filter((ev) => "thread" in ev && ev.thread === true),
    [],
    "no thread events without --threads",
  );
  const threadTids = new Set(t.tids as number[]);
  assert.ok(
    !all.events.some((ev) => ev.tid !== undefined && threadTids.has(ev.tid)),
    "no event from a joined thread",
  );
});

test("pid namespace: namespace-local pid 1 and the new namespace's inode", () => {
  if (!enabled) return;
  const self = one(all, "self");
  const inside = one(all, "pidns_inside");
  const t = one(all, "pidns");
  const g = num(t, "pid");
  assert.is(num(inside, "ns_pid"), 1);
  assert.not.equal(num(inside, "pidns"), num(self, "pidns"));
  const x = theOne(execsOf(all, g), "exec in the new pid namespace", all);
  const e = theOne(exitsOf(all, g), "exit in the new pid namespace", all);
  for (const ev of [x, e]) {
    assert.is(ev.ns_pid, 1, `${ev.event}: ns_pid`);
    assert.is(ev.pidns, num(inside, "pidns"), `${ev.event}: pidns`);
    assert.is(ev.pid, g, `${ev.event}: pid in the initial namespace`);
    assert.is(ev.ppid, num(t, "ppid"), `${ev.event}: ppid`);
  }
});

test("orphan: the grandchild's exit shows the subreaper as its new parent", () => {
  if (!enabled) return;
  const self = num(one(all, "self"), "pid");
  const t = one(all, "orphan");
  const gc = one(all, "orphan_grandchild");
  const a = num(t, "parent");
  const b = num(t, "pid");
  assert.is(num(gc, "first_ppid"), a);
  assert.is(num(gc, "new_ppid"), self);
  assert.is(num(t, "reaper"), self);
  const f = theOne(forksOf(all, b), "fork of the grandchild", all);
  assert.is(f.pid, a);
  const ea = theOne(exitsOf(all, a), "exit of the middle process", all);
  const eb = theOne(exitsOf(all, b), "exit of the orphan", all);
  assert.is(ea.ppid, self);
  assert.is(eb.ppid, self, "reparented to the subreaper");
  assert.is(eb.exit_code, 6);
  assert.ok(idx(all, ea) < idx(all, eb));
  if (eb.parent_exec_id)
    assert.is(eb.parent_exec_id, exitsOf(all, self)[0]?.exec_id, "parent_exec_id follows");
});

// ---- run 2: default --arg-bytes (4096) ------------------------------------------

test("argv over the default 4096-byte limit: truncated, flagged, real argc, prefix exact", async () => {
  if (!enabled) return;
  const r = await traced([], ["args20k", "args100"]);
  const t = one(r, "args20k");
  const want = t.argv as string[];
  const x = theOne(execsOf(r, num(t, "pid")), "args20k exec", r);
  assert.is(x.argv_truncated, true);
  assert.is(x.argc, 100);
  assert.ok(x.argv.length < 100 && x.argv.length > 10, `argv.length ${x.argv.length}`);
  const got = x.argv.map(stringToHex);
  const bytes = got.reduce((n, h) => n + h.length / 2 + 1, 0);
  assert.ok(bytes <= 4096 + 1, `${bytes} bytes captured with a 4096-byte limit`);
  assert.ok(bytes >= 3800, `${bytes} bytes captured: the limit is 4096`);
  assert.equal(got.slice(0, -1), want.slice(0, got.length - 1), "complete arguments exact");
  const lastGot = got[got.length - 1] as string;
  assert.ok((want[got.length - 1] as string).startsWith(lastGot), "the cut argument is a prefix");
  assert.is(x.env, undefined, "no env without --env");
  const s = one(r, "args100");
  assertArgv(theOne(execsOf(r, num(s, "pid")), "args100 exec", r), s, "args100 under 4096");
});

// ---- run 3: --threads ---------------------------------------------------------

test("--threads: thread creation and exit events; the process exit comes once, last", async () => {
  if (!enabled) return;
  const r = await traced(["--threads"], ["threads", "thread_exec"]);
  const t = one(r, "threads");
  const pid = num(t, "pid");
  const tids = t.tids as number[];
  const last = num(one(r, "threads_last"), "tid");
  const threadForks = r.events.filter((e): e is ForkEvent => e.event === "fork" && e.thread);
  for (const tid of [...tids, last]) {
    const f = theOne(
      threadForks.filter((e) => e.child_tid === tid),
      `thread creation ${tid}`,
      r,
    );
    assert.is(f.child_pid, pid);
    assert.is(f.pid, pid);
  }
  const threadExits = r.events.filter(
    (e): e is ExitEvent => e.event === "exit" && e.thread === true && e.pid === pid,
  );
  const exitTids = threadExits.map((e) => e.tid).sort((a, b) => (a ?? 0) - (b ?? 0));
  // The three joined threads, and the leader that left first; the last thread ends the process.
  assert.equal(
    exitTids,
    [pid, ...tids].sort((a, b) => a - b),
  );
  const e = theOne(exitsOf(r, pid), "process exit", r);
  assert.is(e.tid, last);
  assert.is(e.exit_code, 5);
  for (const te of threadExits) assert.ok(idx(r, te) < idx(r, e), "thread exits before the process exit");
  assert.is(num(one(r, "threads_status"), "status"), 5 << 8);

  const tx = one(r, "thread_exec");
  const tf = theOne(
    threadForks.filter((f) => f.child_tid === num(tx, "tid")),
    "creation of the exec'ing thread",
    r,
  );
  assert.is(tf.child_pid, num(tx, "pid"));
  const x = theOne(execsOf(r, num(tx, "pid")), "exec from the thread", r);
  assert.is(x.old_pid, num(tx, "tid"));
  theOne(exitsOf(r, num(tx, "pid")), "process exit after thread exec", r);
});

test.after(() => built?.cleanup());

test.run();
