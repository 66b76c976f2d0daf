import { test } from "uvu";
import * as assert from "uvu/assert";
import { lostEvent } from "../../src/tracker/build.ts";
import type { ExecEvent } from "../../src/tracker/events.ts";
import { formatDuration, TextFormatter } from "../../src/tracker/format-text.ts";
import { ProcessTable } from "../../src/tracker/process-table.ts";
import { makeAlert } from "../../src/tracker/rules.ts";
import { Summary } from "../../src/tracker/summary.ts";
import { renderTree } from "../../src/tracker/tree.ts";
import { runCli } from "../helpers/cli.ts";
import { exec, exit, fork, id } from "./helpers.ts";

const cols = (line: string) => line.split(/\s+/);

test("text lines: every event kind", () => {
  const f = new TextFormatter({ time: "relative" });
  const first = exec(10, 1, ["/bin/echo", "a b", "\x1b[31m"]);
  const l = f.format(first);
  assert.equal(cols(l).slice(0, 6), ["+0.000s", "exec", "10", "1", "1000", "echo"]);
  assert.ok(l.endsWith("/bin/echo 'a b' '\\x1b[31m'"), l);
  assert.ok(
    f.format(exec(10, 1, ["ls"], { argv_truncated: true, argc: 9000 })).endsWith("ls [truncated: 9000 args]"),
  );
  assert.ok(f.format(fork(10, 1, 11)).endsWith("child 11"));
  assert.ok(f.format(fork(10, 1, 12, { thread: true, child_tid: 12 })).endsWith("thread 12"));
  assert.ok(f.format(exit(10, 1, 0)).endsWith("exit 0 (1.50s)"));
  assert.ok(f.format(exit(10, 1, 3 << 8)).endsWith("exit 3 (1.50s)"));
  assert.ok(f.format(exit(10, 1, 9)).endsWith("killed by SIGKILL (1.50s)"));
  assert.ok(
    f.format(exit(10, 1, 11 | 0x80, { signal_name: "SIGSEGV" })).endsWith("SIGSEGV (core dumped) (1.50s)"),
  );
  // An exit says what ran (issue 17: "which child failed?"), escaped like exec's argv.
  const gx = exit(10, 1, 2 << 8, { filename: "/bin/grep", argv: ["grep", "-q", "x\x1by"] });
  assert.ok(f.format(gx).endsWith("exit 2 (1.50s) grep -q 'x\\x1by'"), f.format(gx));
  assert.ok(f.format(exit(10, 1, 0, { filename: "/bin/true" })).endsWith("exit 0 (1.50s) /bin/true"));
  const cut = exit(10, 1, 0, { argv: ["a", "b"], argv_truncated: true });
  assert.ok(f.format(cut).endsWith("a b [truncated]"), f.format(cut));
  const failed = {
    ...exec(10, 1, ["x"]),
    event: "exec_failed" as const,
    filename: "/nope",
    errno: 2,
    error: "ENOENT",
  };
  assert.ok(f.format(failed).endsWith("/nope: ENOENT (2)"));
  const alert = makeAlert(
    exec(10, 1, ["/tmp/x"]),
    { id: "exec_world_writable", severity: "high", description: "d" },
    "executed /tmp/x",
  );
  assert.ok(f.format(alert).endsWith("HIGH exec_world_writable: executed /tmp/x"));
  assert.ok(f.format(lostEvent(first.time, 7, "exec")).includes("7 exec events lost"));
  assert.match(f.header(), /^TIME\s+EVENT\s+PID\s+PPID\s+UID\s+COMM\s+DETAILS$/);
  // Columns line up: DETAILS starts at the same offset on every line.
  assert.is(f.format(fork(10, 1, 11)).slice(64), "child 11");
  assert.is(f.format(exit(123456, 1, 0)).slice(64), "exit 0 (1.50s)");
});

test("text lines: absolute time, colour only when asked", () => {
  const ev = exec(10, 1, ["ls"]);
  const plain = new TextFormatter().format(ev);
  assert.match(plain.split(" ")[0], /^\d\d:\d\d:\d\d\.\d{3}$/);
  assert.not.ok(plain.includes("\x1b"));
  assert.ok(new TextFormatter({ color: true }).format(ev).includes("\x1b[32m"));
  assert.is(formatDuration(1500), "2µs");
  assert.is(formatDuration(45e6), "45ms");
  assert.is(formatDuration(125e9), "2m05s");
});

test("tree rendering: structure, exit status, depth limit, width", () => {
  const t = new ProcessTable();
  t.apply(exec(1, 0, ["/sbin/init"]));
  t.apply(fork(1, 0, 10));
  t.apply(exec(10, 1, ["bash"]));
  t.apply(fork(10, 1, 11));
  t.apply(exec(11, 10, ["sleep", "1"]));
  t.apply(fork(10, 1, 12));
  t.apply(exec(12, 10, ["evil\x1b]0;x\x07"]));
  t.apply(exit(12, 10, 9));
  const out = renderTree(t);
  assert.is(
    out,
    [
      "1 /sbin/init",
      "└─ 10 bash",
      "   ├─ 11 sleep 1",
      "   └─ 12 'evil\\x1b]0;x\\x07' [killed by SIGKILL, 1.50s]",
    ].join("\n"),
  );
  assert.is(renderTree(t, { root: 10, maxDepth: 0, charset: "ascii" }), "10 bash\n`- … 2 more");
  for (const line of renderTree(t, { width: 12 }).split("\n")) assert.ok(Array.from(line).length <= 12, line);
});

test("tree with a filter: a chain of context-only ancestors is one line, the parent stays", () => {
  const t = new ProcessTable();
  // 1 → 2 → … → 9 (a deep launcher, none of it active), 9 → 20 (the active one).
  for (let pid = 2; pid <= 9; pid++) t.apply(exec(pid, pid - 1, [`launcher${pid}`]));
  t.apply(exec(20, 9, ["sh", "-c", "exit 3"]));
  t.apply(exit(20, 9, 3 << 8));
  const out = renderTree(t, { filter: (e) => e.pid === 20, maxDepth: 4, width: 60 });
  assert.is(
    out,
    [
      "2 launcher2",
      "└─ … 6 more ancestors",
      "   └─ 9 launcher9",
      "      └─ 20 sh -c 'exit 3' [exit 3, 1.50s]",
    ].join("\n"),
  );
  // Without a filter nothing is collapsed.
  assert.ok(renderTree(t).includes("launcher5"));
});

test("summary: counts, lost, top commands, alerts and tree", () => {
  const t = new ProcessTable();
  const s = new Summary(t);
  const events = [
    exec(100, 1, ["/bin/sh", "-c", "x"]),
    fork(100, 1, 101),
    exec(101, 100, ["/usr/bin/ls"]),
    exit(101, 100, 0),
    fork(100, 1, 102),
    exec(102, 100, ["/usr/bin/ls", "-a"]),
    exit(102, 100, 2 << 8),
  ];
  for (const e of events) {
    t.apply(e);
    s.add(e);
  }
  s.add(lostEvent(events[0].time, 5, "exec"));
  s.add(lostEvent(events[0].time, 2, "ratelimit:fork"));
  const alert = makeAlert(
    events[2] as ExecEvent,
    { id: "allowlist", severity: "high", description: "d" },
    "r",
  );
  s.add(alert);
  const out = s.render(t);
  assert.match(out, /Events: fork=2 exec=3 exec_failed=0 exit=2 alert=1/);
  assert.match(out, /Lost events: 7 \(exec=5 ratelimit:fork=2\)/);
  assert.match(out, /\n\s+2\s+ls\n\s+1\s+sh\n/);
  assert.match(out, /1\s+allowlist \(high\)/);
  assert.match(
    out,
    /100 \/bin\/sh -c x\n├─ 101 \/usr\/bin\/ls \[exit 0, 1.50s\]\n└─ 102 \/usr\/bin\/ls -a \[exit 2, 1.50s\]/,
  );
});

test("summary: bounded in a fork storm, tree still shows active pre-existing processes", () => {
  const t = new ProcessTable({ maxEntries: 64, graceMs: 0 });
  // Pre-existing (seeded) processes: 1 forks the storm's parent 2; 3 stays idle.
  t.upsert({ pid: 1, ppid: 0, exec_id: id(1), comm: "init", preexisting: true });
  t.upsert({ pid: 2, ppid: 1, exec_id: id(2), comm: "storm", preexisting: true });
  t.upsert({ pid: 3, ppid: 1, exec_id: id(3), comm: "idle", preexisting: true });
  const s = new Summary(t);
  let maxActive = 0;
  for (let i = 0; i < 20_000; i++) {
    const child = 1000 + i;
    for (const e of [fork(2, 1, child), exit(child, 2, 0)]) {
      t.apply(e);
      s.add(e);
    }
    if (i % 500 === 0) t.prune(Date.parse("2100-01-01T00:00:00Z"));
    maxActive = Math.max(maxActive, s.active.size);
  }
  // Only pre-existing pids are kept (here just 2), never one per fork.
  assert.ok(maxActive <= 1, `active set grew to ${maxActive}`);
  assert.is(s.counts.get("fork"), 20_000);
  const out = s.render(t);
  assert.match(out, /─ 2 \[parent\]/); // pid 2 (its comm is now the fork events')
  assert.not.match(out, /idle/);
  assert.match(out, /20999/); // the last child: born during the trace, shown without being in the set

  // Many pre-existing processes each seen once: the set never outgrows the table's cap.
  const t2 = new ProcessTable({ maxEntries: 32 });
  const s2 = new Summary(t2);
  let max2 = 0;
  for (let pid = 10; pid < 5000; pid++) {
    t2.upsert({ pid, ppid: 1, exec_id: id(pid), comm: "old", preexisting: true });
    const e = exit(pid, 1, 0);
    t2.apply(e);
    s2.add(e);
    max2 = Math.max(max2, s2.active.size);
  }
  assert.ok(max2 <= t2.maxEntries + 1, `active set grew to ${max2}`);
});

test("tsbpf tree CLI: --pid --json and usage errors", () => {
  const run = (...a: string[]) => runCli(["tree", ...a]);
  const j = run("--json", "--pid", String(process.pid));
  assert.is(j.status, 0, j.stderr);
  const [root] = JSON.parse(j.stdout);
  assert.is(root.pid, process.pid);
  assert.ok(
    root.children.some((c: { ppid: number }) => c.ppid === process.pid),
    "the CLI itself is our child",
  );
  const txt = run("--pid", String(process.pid), "--ascii");
  assert.is(txt.status, 0);
  assert.match(txt.stdout, new RegExp(`^${process.pid} `));
  assert.is(run("--pid", "x").status, 2);
  assert.is(run("--bogus").status, 2);
  assert.is(run("--pid", "999999999").status, 1);
  assert.match(run("--help").stdout, /Usage: tsbpf tree/);
});

test.run();
