import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ProcessTable } from "../../src/tracker/process-table.ts";
import { parseStat, readProcessInfo, seedFromProc } from "../../src/tracker/procfs.ts";

function stat(pid: number, comm: string, ppid: number, start: number): string {
  // Fields 3.. after the comm; field 22 (index 19 after the comm) is starttime.
  const rest = ["S", ppid, pid, pid, 0, -1, 4194560, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 1, 0, start, 1000, 100];
  return `${pid} (${comm}) ${rest.join(" ")}\n`;
}

function fakeProc(): string {
  const root = mkdtempSync(join(tmpdir(), "tsbpf-proc-"));
  const add = (pid: number, comm: string, ppid: number, start: number, argv: string[], uid = 0) => {
    const d = join(root, String(pid));
    mkdirSync(d);
    writeFileSync(join(d, "stat"), stat(pid, comm, ppid, start));
    writeFileSync(
      join(d, "status"),
      `Name:\t${comm}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t${uid}\t0\t0\t0\nThreads:\t2\n`,
    );
    writeFileSync(join(d, "cmdline"), argv.map((a) => `${a}\0`).join(""));
    writeFileSync(join(d, "comm"), `${comm}\n`);
    if (argv.length) symlinkSync(argv[0], join(d, "exe"));
  };
  add(1, "init", 0, 5, ["/sbin/init"]);
  add(300, "weird) name (x", 1, 700, ["/usr/bin/weird", "a b"], 1000);
  add(42, "bash", 1, 600, ["/bin/bash"]);
  add(2000, "child", 42, 900, ["/bin/sleep", "5"]);
  mkdirSync(join(root, "3000")); // vanished mid-read: directory without files
  mkdirSync(join(root, "self"));
  writeFileSync(join(root, "meminfo"), "");
  return root;
}

test("parseStat handles ')' and spaces inside comm", () => {
  const s = parseStat(stat(7, "a) b (c", 3, 1234))!;
  assert.is(s.comm, "a) b (c");
  assert.is(s.ppid, 3);
  assert.is(s.starttime, 1234);
  assert.is(s.state, "S");
  assert.is(parseStat("garbage"), undefined);
});

test("seedFromProc on a fake /proc", () => {
  const root = fakeProc();
  try {
    const t = new ProcessTable();
    assert.is(seedFromProc(t, root), 4);
    const w = t.get(300)!;
    assert.is(w.comm, "weird) name (x");
    assert.is(w.exec_id, "300-700");
    assert.is(w.parent_exec_id, "1-5");
    assert.is(w.uid, 1000);
    assert.equal(w.argv, ["/usr/bin/weird", "a b"]);
    assert.is(w.exe, "/usr/bin/weird");
    assert.is(w.threads, 2);
    assert.ok(w.preexisting);
    // Children linked regardless of directory order (2000 listed after its parent 42).
    assert.equal(
      t.ancestry(2000).map((e) => e.pid),
      [42, 1],
    );
    assert.equal(
      t.children(1).map((e) => e.pid),
      [42, 300],
    );
    assert.is(readProcessInfo(3000, root), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("seedFromProc on the real /proc finds this process", () => {
  const t = new ProcessTable();
  assert.ok(seedFromProc(t) > 1);
  const me = t.get(process.pid)!;
  assert.ok(me, "this process is in the table");
  assert.is(me.ppid, process.ppid);
  assert.match(me.exec_id, new RegExp(`^${process.pid}-\\d+$`));
  assert.ok(me.start_ticks! > 0);
  assert.is(me.uid, process.getuid!());
  assert.is(t.get(process.ppid)?.children.has(process.pid), true);
  assert.ok(me.argv.some((a) => a.endsWith("procfs.test.ts")));
});

test.run();
