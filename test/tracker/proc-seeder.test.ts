// ProcSeeder: /proc read in chunks and on demand, with every process's ancestors in
// the table before it (fake /proc), and `tsbpf trace`'s background seeding on the
// real kernel: a process that existed before the trace forks, and its fork still
// carries the ppid that only /proc could tell.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ForkEvent } from "../../src/tracker/events.ts";
import { ProcessTable } from "../../src/tracker/process-table.ts";
import { ProcSeeder } from "../../src/tracker/procfs.ts";
import { openSession } from "../../src/tracker/source.ts";
import { privileged } from "../helpers/env.ts";

function fakeProc(procs: [pid: number, comm: string, ppid: number, start: number][]): string {
  const root = mkdtempSync(join(tmpdir(), "tsbpf-seeder-"));
  for (const [pid, comm, ppid, start] of procs) {
    const d = join(root, String(pid));
    mkdirSync(d);
    // Fields after the comm; field 22 (index 19 after the comm) is starttime.
    const rest = ["S", ppid, pid, pid, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 1, 0, start, 1000, 100];
    writeFileSync(join(d, "stat"), `${pid} (${comm}) ${rest.join(" ")}\n`);
    writeFileSync(join(d, "status"), "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nThreads:\t1\n");
    writeFileSync(join(d, "cmdline"), `/bin/${comm}\0`);
    symlinkSync(`/bin/${comm}`, join(d, "exe"));
  }
  mkdirSync(join(root, "77")); // exited while listed: a directory without files
  return root;
}

// 50 is a child of 900 (pids wrap around), 900 of 1; 60 and 61 are unrelated.
const PROCS: [number, string, number, number][] = [
  [1, "init", 0, 5],
  [50, "child", 900, 800],
  [60, "other", 1, 300],
  [61, "other2", 1, 310],
  [900, "parent", 1, 700],
];

test("ensure() reads a process and its unread ancestors, parents first, and nothing else", () => {
  const root = fakeProc(PROCS);
  try {
    const t = new ProcessTable();
    const s = new ProcSeeder(t, root);
    assert.not.ok(s.done);
    s.ensure(50);
    assert.equal(
      [...t.entries()].map((e) => e.pid).sort((a, b) => a - b),
      [1, 50, 900],
    );
    const c = t.get(50);
    assert.is(c?.parent_exec_id, "900-700", "the parent was read first");
    assert.is(t.get(900)?.parent_exec_id, "1-5");
    assert.ok(c?.preexisting);
    assert.equal(
      t.ancestry(50).map((e) => e.pid),
      [900, 1],
    );
    assert.equal(
      t.children(900).map((e) => e.pid),
      [50],
    );
    s.ensure(50); // already read: no change
    assert.is(s.added, 3);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("step() reads the rest in chunks; an entry made by an event first is kept", () => {
  const root = fakeProc(PROCS);
  try {
    const t = new ProcessTable();
    const s = new ProcSeeder(t, root);
    // Pid 61 forked after attach (but before the listing): its fork event made it,
    // after the session ensured the forking parent.
    s.ensure(1);
    t.upsert({ pid: 61, ppid: 1, comm: "fresh", exec_id: "61-999", argv: ["fresh"] });
    assert.not.ok(s.step(1), "one pid (and its ancestors) per step(1)");
    assert.is(s.added, 3, "init, then 50 with its parent 900");
    while (!s.step(2)) {}
    assert.ok(s.done);
    assert.is(t.get(61)?.comm, "fresh", "the event's entry is newer than /proc's");
    assert.not.ok(t.get(61)?.preexisting);
    assert.is(t.get(60)?.parent_exec_id, "1-5");
    assert.not.ok(t.has(77), "a process gone before its turn is skipped");
    assert.is(s.added, 4);
    assert.equal(
      t.children(1).map((e) => e.pid),
      [60, 61, 900],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("finish() reads everything; the real /proc has this process and its parent", () => {
  const t = new ProcessTable();
  const s = new ProcSeeder(t);
  s.ensure(process.pid);
  assert.is(t.get(process.pid)?.ppid, process.ppid);
  assert.ok(t.has(process.ppid), "ancestors come with it");
  s.finish();
  assert.ok(s.done);
  assert.ok(t.size > 2);
});

test("trace with background seeding: a pre-existing process's fork carries its ppid from /proc", async () => {
  if (!privileged("background /proc seeding under a live trace")) return;
  // A shell that forks /bin/true for each line on its stdin; it exists before the trace.
  const sh = spawn("/bin/sh", ["-c", "while read x; do /bin/true; done"], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  const pid = sh.pid as number;
  const session = await openSession({ seedProc: "background", lossPollMs: 200 });
  try {
    const poke = setInterval(() => sh.stdin?.write("x\n"), 50);
    const stop = setTimeout(() => session.stop(), 60_000);
    let fork: ForkEvent | undefined;
    for await (const ev of session.events()) {
      if (ev.event === "fork" && ev.pid === pid && !fork) {
        fork = ev;
        // The table has the shell, read from /proc, even if seeding is not over yet.
        assert.ok(session.table.get(pid)?.preexisting, "the forking shell is marked pre-existing");
        session.stop();
      }
    }
    clearInterval(poke);
    clearTimeout(stop);
    assert.ok(fork, "the shell's fork was reported");
    assert.is(fork?.ppid, process.pid, "its ppid came from /proc");
    assert.match(fork?.parent_exec_id ?? "", new RegExp(`^${process.pid}-\\d+$`));
    // events() ended: /proc is fully read.
    assert.ok(session.table.has(1), "init is in the table");
    assert.ok(session.table.get(process.pid)?.preexisting);
  } finally {
    session.close();
    sh.kill("SIGKILL");
  }
});

test.run();
