import { test } from "uvu";
import * as assert from "uvu/assert";
import { ProcessTable } from "../../src/tracker/process-table.ts";
import { exec, exit, fork, id } from "./helpers.ts";

test("fork links the child; exec replaces the image and keeps links", () => {
  const t = new ProcessTable();
  t.apply(exec(10, 1, ["/bin/bash"]));
  t.apply(fork(10, 1, 11));
  const c = t.get(11)!;
  assert.is(c.ppid, 10);
  assert.is(c.exec_id, id(11));
  assert.is(c.parent_exec_id, id(10));
  assert.equal(c.argv, ["/bin/bash"]); // inherited until exec
  assert.equal(
    t.children(10).map((e) => e.pid),
    [11],
  );
  t.apply(exec(11, 10, ["/bin/ls", "-l"]));
  assert.equal(t.get(11)!.argv, ["/bin/ls", "-l"]);
  assert.is(t.get(11)!.comm, "ls");
  assert.is(t.get(11)!.execs, 1);
  assert.equal(
    t.ancestry(11).map((e) => e.pid),
    [10],
  );
});

test("childless entries share no children: each parent's set is its own", () => {
  const t = new ProcessTable();
  t.apply(exec(10, 1, ["/bin/a"]));
  t.apply(exec(20, 1, ["/bin/b"]));
  t.apply(fork(10, 1, 11));
  t.apply(fork(20, 1, 21));
  t.apply(fork(20, 1, 22));
  assert.equal([...t.get(10)!.children], [11]);
  assert.equal([...t.get(20)!.children], [21, 22]);
  assert.is(t.get(11)!.children.size, 0);
  assert.is(t.get(21)!.children.size, 0);
  assert.throws(() => t.get(11)!.children.add(99), /through the table/);
  t.relink();
  assert.equal([...t.get(20)!.children].sort(), [21, 22]);
  assert.is(t.get(21)!.children.size, 0);
});

test("threads change the count, not the tree; exec from a thread resets it", () => {
  const t = new ProcessTable();
  t.apply(exec(20, 1, ["/usr/bin/node"]));
  t.apply(fork(20, 1, 21, { thread: true, child_pid: 20, child_tid: 21 }));
  t.apply(fork(20, 1, 22, { thread: true, child_pid: 20, child_tid: 22 }));
  assert.is(t.get(20)!.threads, 3);
  assert.not.ok(t.has(21));
  t.apply(exit(20, 1, 0, { tid: 21, thread: true }));
  assert.is(t.get(20)!.threads, 2);
  assert.is(t.get(20)!.exited, undefined, "a thread exit is not a process exit");
  t.apply(exec(20, 1, ["/bin/true"], { old_pid: 22, tid: 20 }));
  assert.is(t.get(20)!.threads, 1);
  assert.equal(t.get(20)!.argv, ["/bin/true"]);
});

test("exit records the status; later ppid reparents orphans", () => {
  const t = new ProcessTable();
  t.apply(fork(30, 1, 31));
  t.apply(fork(31, 30, 32));
  t.apply(exit(31, 30, 9));
  const e = t.get(31)!;
  assert.is(e.exited!.signal, 9);
  assert.is(e.exited!.exit_code, 0);
  // 32 was reparented to init (ppid 1) by the kernel; its next event shows it.
  t.apply(exec(32, 1, ["/bin/sleep", "10"]));
  assert.is(t.get(32)!.ppid, 1);
  assert.equal(t.children(31), []);
});

test("unknown pids are created on the fly, never crash", () => {
  const t = new ProcessTable();
  t.apply(exit(500, 400, 3 << 8));
  t.apply(exec(600, 599, ["/x"]));
  t.apply({ ...fork(700, 1, 701), thread: true });
  t.apply({
    event: "lost",
    time: new Date().toISOString(),
    pid: 0,
    ppid: 0,
    uid: 0,
    gid: 0,
    comm: "",
    exec_id: "",
    parent_exec_id: "",
    count: 5,
    kind: "exec",
  });
  assert.is(t.get(500)!.exited!.exit_code, 3);
  assert.ok(t.has(600) && t.has(700));
  assert.equal(t.ancestry(600), []);
});

test("pid reuse: a new exec_id replaces the old entry", () => {
  const t = new ProcessTable();
  t.apply(exec(40, 1, ["/old"]));
  t.apply(exit(40, 1));
  t.apply(exec(40, 1, ["/new"], { exec_id: "40-999" }));
  assert.is(t.get(40)!.exited, undefined);
  assert.equal(t.get(40)!.argv, ["/new"]);
});

test("prune removes exited processes after the grace period unless live children remain", () => {
  const t = new ProcessTable({ graceMs: 5000 });
  t.apply(fork(50, 1, 51));
  t.apply(fork(51, 50, 52));
  const ex = exit(51, 50);
  t.apply(ex);
  t.apply(exit(50, 1));
  const exitMs = Date.parse(ex.time);
  assert.is(t.prune(exitMs + 1000), 0, "within the grace period");
  assert.is(t.prune(exitMs + 10_000), 1, "50 is gone, 51 stays: it has a live child");
  assert.not.ok(t.has(50));
  assert.ok(t.has(51));
  t.apply(exit(52, 51));
  t.prune(Date.parse(ex.time) + 60_000);
  assert.not.ok(t.has(51) || t.has(52));
});

test("prune stops at the first exit inside the grace period; one that raced ahead goes next time", () => {
  const t = new ProcessTable({ graceMs: 5000 });
  const at = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  const base = Date.parse("2030-01-01T00:00:00Z");
  for (const pid of [60, 61, 62, 63]) t.apply(fork(1, 0, pid));
  // Applied in kernel order: 61's exit record was reserved a moment after 62's (two
  // CPUs racing), so its time is earlier although it is applied later.
  t.apply(exit(60, 1, 0, { time: at(base) }));
  t.apply(exit(62, 1, 0, { time: at(base + 2000) }));
  t.apply(exit(61, 1, 0, { time: at(base + 1999) }));
  t.apply(exit(63, 1, 0, { time: at(base + 9000) }));
  assert.is(t.prune(base + 5500), 1, "only 60: 62 is still inside the grace period");
  assert.ok(t.has(61) && t.has(62));
  assert.is(t.prune(base + 7500), 2, "61 and 62");
  assert.ok(t.has(63));
  assert.is(t.prune(base + 20_000), 1);
  assert.not.ok(t.has(60) || t.has(61) || t.has(62) || t.has(63));
});

test("a 200k-event fork storm stays within the cap", () => {
  const cap = 4096;
  const t = new ProcessTable({ maxEntries: cap });
  let pid = 1000;
  for (let i = 0; i < 134_000; i++) {
    pid++;
    t.apply(fork(999, 1, pid));
    // Half of the children never exit: the cap must hold even for live entries.
    if (i % 2 === 0) t.apply(exit(pid, 999));
    assert.ok(t.size <= cap);
  }
  assert.ok(t.size <= cap, `size ${t.size}`);
  assert.ok(t.has(pid), "the newest process is kept");
  // Oldest exited were evicted first: all recent live children survive.
  assert.ok(t.has(pid - 2));
});

test.run();
