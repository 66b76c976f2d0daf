// Issue 17 reproductions, end to end: "which child failed" from the exit alone, the
// failed-exit filter, a summary that follows the filters, whole saved trees that start
// at CMD, -o -, --output-fd, -c with a '/', replay of a recording, EPIPE, help, typos.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI } from "../helpers/cli.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";
import { type Ev, ndjson, show, tsbpf } from "./helpers.ts";

const ok = privileged("trace UX end to end");
const work = mkdtempSync(join(tmpdir(), "tsbpf-ux-"));
const BUILD = "/bin/true a; /bin/sh -c 'exit 2' grep-like x; /bin/sleep 0.3; /bin/echo done >/dev/null";

test("exit events carry filename, argv, lifetime; --exit-failed keeps only the failure; replay rebuilds it", () => {
  if (!ok) return;
  const rec = join(work, "build.ndjson");
  const r = tsbpf(["trace", "--json", "-o", rec, "--", "/bin/sh", "-c", BUILD]);
  assert.is(r.status, 0, show(r));
  const evs = ndjson(readFileSync(rec, "utf8"));
  const failed = evs.filter((e: Ev) => e.event === "exit" && (e.exit_code !== 0 || e.signal !== null));
  assert.is(failed.length, 1, JSON.stringify(failed));
  assert.equal(failed[0]?.argv, ["/bin/sh", "-c", "exit 2", "grep-like", "x"]);
  assert.is(failed[0]?.filename, "/bin/sh");
  const sleep = evs.find((e: Ev) => e.event === "exit" && e.filename === "/bin/sleep");
  assert.ok(sleep?.lifetime_ns >= 250e6, JSON.stringify(sleep));

  const only = tsbpf(["trace", "--json", "--exit-failed", "--", "/bin/sh", "-c", BUILD]);
  assert.is(only.status, 0, show(only));
  const kept = ndjson(only.stdout).filter((e) => e.event !== "lost");
  assert.equal(
    kept.map((e) => [e.event, e.exit_code]),
    [["exit", 2]],
    show(only),
  );

  // replay: the summary answers "which failed, with what argv, which took longest".
  const rp = spawnSync(process.execPath, [...CLI, "replay", rec], { cwd: ROOT_DIR, encoding: "utf8" });
  assert.is(rp.status, 0, rp.stderr);
  assert.match(
    rp.stdout,
    /Failed \(1, non-zero exit or killed by a signal\):\n\s+\d+\s+exit 2 .*\/bin\/sh -c 'exit 2' grep-like x/,
  );
  assert.match(rp.stdout, /Slowest \(longest lifetime\):\n\s+\d+\s+exit 0 .*\/bin\/sh -c/);
  assert.match(rp.stdout, /\/bin\/sleep 0\.3/);
  assert.match(rp.stdout, /Process tree/);
  const rf = spawnSync(process.execPath, [...CLI, "replay", "--exit-failed", "--json", rec], {
    cwd: ROOT_DIR,
    encoding: "utf8",
  });
  assert.equal(
    ndjson(rf.stdout).map((e) => e.exit_code),
    [2],
    rf.stdout,
  );
  const rc = spawnSync(process.execPath, [...CLI, "replay", "--comm", "nothing*", rec], {
    cwd: ROOT_DIR,
    encoding: "utf8",
  });
  assert.match(rc.stdout, /Events: fork=0 exec=0 exec_failed=0 exit=0 alert=0/);
  const bad = join(work, "bad.ndjson");
  writeFileSync(
    bad,
    '{"event":"exec","time":"2026-01-01T00:00:00Z","pid":1,"ppid":0,"argv":[]}\nnot json\n{}\n',
  );
  const rb = spawnSync(process.execPath, [...CLI, "replay", bad], { cwd: ROOT_DIR, encoding: "utf8" });
  assert.is(rb.status, 1);
  assert.match(rb.stderr, /^tsbpf: .*bad\.ndjson:2: not a JSON line/);
});

test("the summary counts only what the filters let through; saved trees are whole and start at CMD", () => {
  if (!ok) return;
  const none = tsbpf(["trace", "--comm", "nonexistent*", "--", "/bin/sh", "-c", BUILD]);
  assert.is(none.status, 0, show(none));
  assert.match(none.stdout, /Events: fork=0 exec=0 exec_failed=0 exit=0 alert=0/, show(none));
  assert.not.match(none.stdout, /Top commands/, show(none));

  const out = join(work, "w.txt");
  const long = "a".repeat(200);
  const r = tsbpf(["trace", "-o", out, "--", "/bin/sh", "-c", `/bin/echo ${long} >/dev/null; exit 4`]);
  assert.is(r.status, 4, show(r));
  const text = readFileSync(out, "utf8");
  const tree = text.slice(text.indexOf("Process tree"));
  const lines = tree.split("\n").slice(1).filter(Boolean);
  assert.match(lines[0] ?? "", /^\d+ \/bin\/sh -c .*\[exit 4, /, tree);
  assert.ok(
    lines.some((l) => l.includes(long) && /\[exit 0, /.test(l)),
    tree,
  );
  assert.not.match(tree, /node|tsx/, "tsbpf's own ancestors are not in the tree");
  assert.match(text, /Failed \(1, /);
});

test("-o - is stdout; --output-fd 2 keeps CMD's stdout clean; -q has no header or summary", () => {
  if (!ok) return;
  const dash = tsbpf(["trace", "--json", "-o", "-", "--", "/bin/true"]);
  assert.is(dash.status, 0, show(dash));
  assert.ok(
    ndjson(dash.stdout).some((e) => e.event === "exec"),
    show(dash),
  );
  assert.not.ok(existsSync(join(ROOT_DIR, "-")), "no file named '-'");
  const fd = tsbpf(["trace", "--json", "--output-fd", "2", "--", "/bin/echo", "only-this"]);
  assert.is(fd.status, 0, show(fd));
  assert.is(fd.stdout, "only-this\n");
  assert.ok(
    ndjson(fd.stderr).some((e) => e.event === "exec" && e.argv[1] === "only-this"),
    show(fd),
  );
  const q = tsbpf(["trace", "-q", "--", "/bin/true"]);
  assert.is(q.status, 0, show(q));
  assert.not.match(q.stdout, /TIME|Summary/);
  assert.match(q.stdout, / exec /);
});

test("-c with a '/' is a cgroup (execsnoop's -c), with a note; --comm with '/' is refused; --duration 300ms", () => {
  const c = tsbpf(["trace", "-c", "/sys/fs/cgroup/tsbpf-tracer-ux-none"]);
  assert.is(c.status, 2, show(c));
  assert.match(c.stderr, /note: -c \/sys\/fs\/cgroup\/tsbpf-tracer-ux-none is read as --cgroup/);
  assert.match(c.stderr, /trace: --cgroup \/sys\/fs\/cgroup\/tsbpf-tracer-ux-none: no such cgroup/);
  const comm = tsbpf(["trace", "--comm", "a/b"]);
  assert.is(comm.status, 2);
  assert.match(comm.stderr, /a comm never contains '\/'/);
  if (!ok) return;
  const d = tsbpf(["trace", "--json", "-o", "/dev/null", "--duration", "300ms"]);
  assert.is(d.status, 0, show(d));
});

test("help per command, 'did you mean', EPIPE on a closed pipe is quiet", () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT_DIR, encoding: "utf8" });
  const h = run(["help", "trace"]);
  assert.is(h.status, 0);
  assert.match(h.stdout, /^Usage: tsbpf trace /);
  assert.match(h.stdout, /--exit-failed/);
  const typo = run(["traec"]);
  assert.is(typo.status, 2);
  assert.match(typo.stderr, /did you mean 'trace'\?/);
  const flag = run(["trace", "--exit-faild"]);
  assert.match(flag.stderr, /did you mean --exit-failed\?/);
  const pipe = spawnSync(
    "bash",
    [
      "-c",
      `set -o pipefail; '${process.execPath}' ${CLI.map((a) => `'${a}'`).join(" ")} inspect --disasm bpf/process.bpf.o | head -1`,
    ],
    { cwd: ROOT_DIR, encoding: "utf8" },
  );
  assert.is(pipe.status, 0, pipe.stderr);
  assert.is(pipe.stderr, "");
  assert.is(pipe.stdout.split("\n").length, 2);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
