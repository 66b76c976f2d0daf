// System-wide `tsbpf trace` runs: kernel filters (--uid, --pid and descendants),
// error paths, and a clean stop on SIGINT that leaves nothing in the kernel.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { haveTool, privileged } from "../helpers/env.ts";
import { loadedProgIds, ndjson, RunningTrace, run, show, tsbpf } from "./helpers.ts";

const ok = privileged("tsbpf trace sessions");
const work = mkdtempSync(join(tmpdir(), "tsbpf-trace-s-"));
const noLine = (s: string) => s.trim().split("\n").length === 1;

test("--uid: only that uid's execs are reported", async () => {
  if (!ok || !haveTool("setpriv")) return;
  const t = new RunningTrace(["trace", "--json", "--uid", "65534"]);
  const asNobody = (mark: string) =>
    run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/echo", mark]);
  try {
    // Attached once nobody's exec shows up; then run both kinds.
    await t.waitFor(
      (o) => o.includes("uid-mark-nobody-1"),
      () => asNobody("uid-mark-nobody-1"),
    );
    run("/bin/echo", ["uid-mark-root"]);
    asNobody("uid-mark-nobody-2");
    await t.waitFor((o) => o.includes("uid-mark-nobody-2"));
  } finally {
    await t.stop();
  }
  const evs = ndjson(t.stdout);
  assert.ok(!t.stdout.includes("uid-mark-root"), t.stdout.slice(-2000));
  for (const e of evs) if (e.event !== "lost") assert.is(e.uid, 65534, JSON.stringify(e));
});

test("--pid: that process and its descendants only", async () => {
  if (!ok) return;
  const loop = (mark: string): ChildProcess =>
    spawn("sh", ["-c", `while :; do /bin/echo ${mark} >/dev/null; sleep 0.2; done`], { stdio: "ignore" });
  const a = loop("pid-mark-a");
  const b = loop("pid-mark-b");
  const t = new RunningTrace(["trace", "--json", "--pid", String(a.pid)]);
  try {
    await t.waitFor((o) => (o.match(/pid-mark-a/g) ?? []).length >= 3);
    // b has run several times meanwhile.
  } finally {
    await t.stop();
    a.kill();
    b.kill();
  }
  assert.ok(!t.stdout.includes("pid-mark-b"), t.stdout.slice(-2000));
  const execs = ndjson(t.stdout).filter((e) => e.event === "exec");
  assert.ok(execs.length >= 3);
  for (const e of execs) assert.ok(e.ppid === a.pid || e.pid === a.pid, JSON.stringify(e));
});

test("SIGINT: summary and tree in text mode, exit 0, programs gone from the kernel", async () => {
  if (!ok || !haveTool("bpftool")) return;
  const t = new RunningTrace(["trace"]);
  let ids: number[] = [];
  try {
    await t.waitFor(
      (o) => o.includes("sigint-mark"),
      () => run("/bin/echo", ["sigint-mark"]),
    );
    ids = t.progIds();
  } finally {
    const r = await t.stop("SIGINT");
    assert.is(r.status, 0, show({ ...r, stdout: t.stdout, stderr: t.stderr }));
  }
  assert.ok(ids.length >= 3, `trace held ${ids.length} programs`);
  assert.match(t.stdout, /=== Summary ===/);
  assert.match(t.stdout, /Process tree/);
  assert.is(t.stderr, "", t.stderr);
  const left = loadedProgIds();
  for (const id of ids) assert.ok(!left.has(id), `program id ${id} still loaded after exit`);
});

test("errors: unknown flag (2), bad --cgroup (2), bad --max-args (2): one line, no stack", () => {
  const cases: [string[], number, RegExp][] = [
    [["trace", "--bogus"], 2, /--bogus/],
    [["trace", "--cgroup", "/no/such/cgroup-xyz"], 2, /no\/such\/cgroup-xyz/],
    [["trace", "--max-args", "0"], 2, /--max-args/],
    [["trace", "--max-args", "40000"], 2, /--max-args/],
    [["trace", "--rate-limit", "fast"], 2, /--rate-limit/],
    [["trace", "--time", "later"], 2, /--time/],
  ];
  for (const [args, code, re] of cases) {
    const r = tsbpf(args);
    assert.is(r.status, code, `${args.join(" ")}\n${show(r)}`);
    assert.ok(noLine(r.stderr), show(r));
    assert.match(r.stderr, re);
    assert.not.match(r.stderr, /\n\s+at /);
  }
});

test("errors: unreadable and malformed rules files (1), with line:column", () => {
  const missing = tsbpf(["trace", "--rules", join(work, "missing.json")]);
  assert.is(missing.status, 1, show(missing));
  assert.ok(noLine(missing.stderr), show(missing));
  assert.match(missing.stderr, /missing\.json/);
  const bad = join(work, "bad.json");
  writeFileSync(bad, '{\n  "rules": [\n    { "id": "x", }\n  ]\n}\n');
  const r = tsbpf(["trace", "--rules", bad]);
  assert.is(r.status, 1, show(r));
  assert.ok(noLine(r.stderr), show(r));
  assert.match(r.stderr, /bad\.json:3:\d+/);
  const badAllow = join(work, "allow.txt");
  writeFileSync(badAllow, "/usr/bin/*\nrelative/path\n");
  const a = tsbpf(["trace", "--allowlist", badAllow]);
  assert.is(a.status, 1, show(a));
  assert.match(a.stderr, /allow\.txt:2:\d+/);
});

test("errors: not root → the privilege message, exit 1", () => {
  if (!ok || !haveTool("setpriv")) return;
  const r = tsbpf(["trace", "--json", "--", "/bin/true"], {
    prefix: ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"],
    env: { HOME: "/tmp" },
  });
  assert.is(r.status, 1, show(r));
  assert.ok(noLine(r.stderr), show(r));
  assert.match(r.stderr, /needs root, or CAP_BPF \+ CAP_PERFMON/);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
