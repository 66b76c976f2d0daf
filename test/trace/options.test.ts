// Every `tsbpf trace` option exercised live on the real kernel (root): kernel-side
// filters (--threads, --cgroup, --container, --pidns), the in-kernel rate limiter,
// rules/allowlist/alerts-only, built-in rules, --duration, -o, --time rel, and
// hostile argv in text mode. (--uid, --pid, --env, --max-args, --comm, --failed are
// in cli.test.ts and session.test.ts.)
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cgroup2Root } from "../../src/tracker/cgroup.ts";
import { haveTool, privileged } from "../helpers/env.ts";
import { type Ev, ndjson, RunningTrace, run, show, tsbpf } from "./helpers.ts";

const ok = privileged("tsbpf trace options live");
const work = mkdtempSync(join(tmpdir(), "tsbpf-trace-o-"));
const notLost = (e: Ev) => e.event !== "lost";

test("--threads: thread create/exit events with tid; exactly one process exit, after the last thread", () => {
  if (!ok || !haveTool("python3")) return;
  const py =
    "import threading\nts=[threading.Thread(target=lambda: None) for _ in range(3)]\n[t.start() for t in ts]\n[t.join() for t in ts]\n";
  const r = tsbpf(["trace", "--json", "--threads", "--", "python3", "-c", py]);
  assert.is(r.status, 0, show(r));
  const evs = ndjson(r.stdout);
  const exec = evs.find((e) => e.event === "exec" && e.argv?.[1] === "-c");
  assert.ok(exec, show(r));
  const pid = exec?.pid as number;
  const mine = evs.filter((e) => e.pid === pid);
  const created = mine.filter((e) => e.event === "fork" && e.thread === true);
  assert.ok(created.length >= 3, show(r));
  // Fork events are the creator's (pid, tid); the new thread is child_tid, same process.
  for (const t of created) {
    assert.is(t.child_pid, pid, JSON.stringify(t));
    assert.is.not(t.child_tid, pid, JSON.stringify(t));
  }
  const texits = mine.filter((e) => e.event === "exit" && e.thread === true);
  assert.ok(texits.length >= 3, show(r));
  for (const t of texits) assert.is.not(t.tid, pid, JSON.stringify(t));
  const pexits = mine.filter((e) => e.event === "exit" && e.thread !== true);
  assert.is(pexits.length, 1, show(r));
  assert.is(pexits[0]?.exit_code, 0);
  assert.is(mine.filter((e) => e.event === "exit").at(-1), pexits[0], "the process exit comes last");

  const plain = tsbpf(["trace", "--json", "--", "python3", "-c", py]);
  assert.is(plain.status, 0, show(plain));
  const pe = ndjson(plain.stdout);
  assert.is(pe.filter((e) => e.thread === true).length, 0, show(plain));
  const ppid = pe.find((e) => e.event === "exec" && e.argv?.[1] === "-c")?.pid;
  assert.is(pe.filter((e) => e.event === "exit" && e.pid === ppid).length, 1, show(plain));
});

/** A fresh cgroup v2 directory named like a container scope, removed in `after`. */
function makeCgroup(): { dir: string; hex: string; ino: number } {
  const hex = [...crypto.getRandomValues(new Uint8Array(32))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const dir = join(cgroup2Root(), `tsbpf-test-${hex}`);
  mkdirSync(dir);
  return { dir, hex, ino: statSync(dir).ino };
}

function removeCgroup(dir: string): void {
  // The last member may still be a zombie for a moment; rmdir fails with EBUSY until reaped.
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  rmdirSync(dir);
}

/** Runs `sh` that moves itself into `dir`, then execs /bin/echo MARK. */
const inCgroup = (dir: string, mark: string) =>
  run("sh", ["-c", `echo $$ > ${dir}/cgroup.procs && exec /bin/echo ${mark}`]);

for (const flag of ["--container", "--cgroup"] as const) {
  test(`${flag}: only the events of processes in that cgroup, with its cgroup_id`, async () => {
    if (!ok) return;
    const cg = makeCgroup();
    try {
      const arg = flag === "--container" ? cg.hex.slice(0, 16) : (cg.dir.split("/").at(-1) as string);
      const t = new RunningTrace(["trace", "--json", flag, arg]);
      try {
        await t.waitFor(
          (o) => o.includes("cg-mark-1"),
          () => inCgroup(cg.dir, "cg-mark-1"),
        );
        run("/bin/echo", ["cg-mark-outside"]);
        inCgroup(cg.dir, "cg-mark-2");
        await t.waitFor((o) => o.includes("cg-mark-2"));
      } finally {
        await t.stop();
      }
      assert.ok(!t.stdout.includes("cg-mark-outside"), t.stdout.slice(-2000));
      const evs = ndjson(t.stdout).filter(notLost);
      assert.ok(
        evs.some((e) => e.event === "exec" && e.argv?.[1] === "cg-mark-2"),
        t.stdout,
      );
      for (const e of evs) assert.is(e.cgroup_id, cg.ino, JSON.stringify(e));
    } finally {
      removeCgroup(cg.dir);
    }
  });
}

test("--pidns: only processes of that pid namespace, with their namespace pids", async () => {
  if (!ok || !haveTool("unshare")) return;
  const u: ChildProcess = spawn(
    "unshare",
    ["-p", "-f", "--mount-proc", "sh", "-c", "while :; do /bin/echo pidns-mark >/dev/null; sleep 0.2; done"],
    { stdio: "ignore", detached: true },
  );
  try {
    // The shell inside is unshare's child (unshare -f forks into the new namespace).
    let inner = 0;
    for (let i = 0; i < 100 && !inner; i++) {
      try {
        inner =
          Number(readFileSync(`/proc/${u.pid}/task/${u.pid}/children`, "utf8").trim().split(" ")[0]) || 0;
      } catch {
        // not there yet
      }
      if (!inner) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(inner > 0, "found the namespaced shell");
    const ino = statSync(`/proc/${inner}/ns/pid`).ino;
    const t = new RunningTrace(["trace", "--json", "--pidns", String(ino)]);
    try {
      await t.waitFor(
        // Two exec events: exit events carry the argv too, so count exec lines only.
        (o) =>
          o.split("\n").filter((l) => l.includes('"event":"exec"') && l.includes("pidns-mark")).length >= 2,
        () => run("/bin/echo", ["pidns-outside"]),
      );
    } finally {
      await t.stop();
    }
    assert.ok(!t.stdout.includes("pidns-outside"), t.stdout.slice(-2000));
    const evs = ndjson(t.stdout).filter(notLost);
    for (const e of evs) {
      // Fork events describe the parent (pid) and name the child; the rest carry pidns.
      if (e.event === "fork") assert.is(e.pid, inner, JSON.stringify(e));
      else assert.is(e.pidns, ino, JSON.stringify(e));
    }
    const execs = evs.filter((e) => e.event === "exec" && e.argv?.[1] === "pidns-mark");
    assert.ok(execs.length >= 2, t.stdout.slice(-2000));
    for (const e of execs) {
      assert.is(e.ppid, inner, JSON.stringify(e));
      assert.ok(e.ns_pid > 1 && e.ns_pid < e.pid, JSON.stringify(e));
    }
  } finally {
    if (u.pid) process.kill(-u.pid, "SIGKILL");
  }
});

test("--rate-limit: a burst is cut in the kernel, drops counted as ratelimit:<type>, every exit kept", () => {
  if (!ok) return;
  const N = 60;
  const r = tsbpf([
    "trace",
    "--json",
    "--rate-limit",
    "5/s",
    "--",
    "sh",
    "-c",
    `i=0; while [ $i -lt ${N} ]; do /bin/true; i=$((i+1)); done`,
  ]);
  assert.is(r.status, 0, show(r));
  const evs = ndjson(r.stdout);
  const dropped = (kind: string) =>
    evs.filter((e) => e.event === "lost" && e.kind === kind).reduce((n, e) => n + e.count, 0);
  const execs = evs.filter((e) => e.event === "exec").length;
  const forks = evs.filter((e) => e.event === "fork").length;
  assert.ok(execs < N, `exec events ${execs}`);
  assert.ok(forks < N, `fork events ${forks}`);
  // The tree ran N forks and N + 1 execs (the shell's own, then N × /bin/true).
  assert.is(execs + dropped("ratelimit:exec"), N + 1, show(r));
  assert.is(forks + dropped("ratelimit:fork"), N, show(r));
  // Exits are never rate-limited: N children and the shell.
  assert.is(evs.filter((e) => e.event === "exit").length, N + 1, show(r));
  assert.is(dropped("exit") + dropped("ratelimit:exit"), 0);
});

test("--rules FILE: a user rule on path + args raises its alert", () => {
  if (!ok) return;
  const f = join(work, "rules.json");
  writeFileSync(
    f,
    JSON.stringify({
      rules: [
        {
          id: "echo_marker",
          severity: "low",
          description: "echo of the test marker",
          match: { path: "/bin/ech?", args: "*rule-mark*" },
        },
      ],
    }),
  );
  const r = tsbpf([
    "trace",
    "--json",
    "--rules",
    f,
    "--",
    "sh",
    "-c",
    "/bin/echo rule-mark; /bin/echo other",
  ]);
  assert.is(r.status, 0, show(r));
  const alerts = ndjson(r.stdout).filter((e) => e.event === "alert" && e.rule === "echo_marker");
  assert.is(alerts.length, 1, show(r));
  assert.is(alerts[0]?.severity, "low");
  assert.is(alerts[0]?.filename, "/bin/echo");
});

test("--allowlist FILE: an exec not listed raises an allowlist alert; --alerts-only prints only alerts", () => {
  if (!ok) return;
  const f = join(work, "allow.txt");
  writeFileSync(f, "# test allowlist\n/bin/sh\n/usr/bin/sh\n/usr/bin/dash\n/usr/bin/true\n/bin/true\n");
  const args = ["--allowlist", f, "--", "sh", "-c", "/bin/true; /bin/echo not-listed"];
  const r = tsbpf(["trace", "--json", ...args]);
  assert.is(r.status, 0, show(r));
  const evs = ndjson(r.stdout);
  const alerts = evs.filter((e) => e.event === "alert" && e.rule === "allowlist");
  assert.is(alerts.length, 1, show(r));
  assert.is(alerts[0]?.filename, "/bin/echo");
  assert.ok(evs.some((e) => e.event === "exec" && e.filename === "/bin/true"));

  const only = tsbpf(["trace", "--json", "--alerts-only", ...args]);
  assert.is(only.status, 0, show(only));
  const oe = ndjson(only.stdout);
  assert.ok(oe.length >= 1, show(only));
  for (const e of oe) assert.ok(e.event === "alert" || e.event === "lost", JSON.stringify(e));
  assert.is(oe.filter((e) => e.rule === "allowlist").length, 1);
});

test("built-in rules live: exec from /tmp, and a reverse-shell command line (never run)", () => {
  if (!ok) return;
  const dir = mkdtempSync("/tmp/tsbpf-ww-");
  // The rule reads the directory's mode at exec time: a private mkdtemp directory under
  // /tmp is not world-writable (docs/rules.md); one like /tmp itself is.
  chmodSync(dir, 0o1777);
  const bin = join(dir, "tsbpf-tmp-true");
  copyFileSync("/bin/true", bin);
  try {
    const r = tsbpf([
      "trace",
      "--json",
      "--",
      "sh",
      "-c",
      `${bin}; /bin/true bash -i '>&' /dev/tcp/127.0.0.1/9 '0>&1'`,
    ]);
    assert.is(r.status, 0, show(r));
    const alerts = ndjson(r.stdout).filter((e) => e.event === "alert");
    const ww = alerts.filter((e) => e.rule === "exec_world_writable");
    assert.is(ww.length, 1, show(r));
    assert.is(ww[0]?.filename, bin);
    // Two: /bin/true with those arguments, and the `sh -c` whose payload holds them
    // (the rule scans shell payloads). Not a third for tsbpf's own gate shell.
    const rs = alerts.filter((e) => e.rule === "reverse_shell");
    assert.is(rs.length, 2, show(r));
    const t = rs.find((e) => e.filename === "/bin/true");
    assert.is(t?.severity, "critical");
    assert.match(t?.reason, /\/dev\/tcp\/127\.0\.0\.1\/9/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--duration: a system-wide trace stops by itself and exits 0", () => {
  if (!ok) return;
  const t0 = Date.now();
  const r = tsbpf(["trace", "--json", "--duration", "2"]);
  assert.is(r.status, 0, show(r));
  assert.ok(Date.now() - t0 >= 2000, "ran at least the duration");
});

test("-o FILE with --time rel: events go to the file with elapsed_s; stdout stays clean", () => {
  if (!ok) return;
  const out = join(work, "events.ndjson");
  const r = tsbpf(["trace", "--json", "--time", "rel", "-o", out, "--", "/bin/true", "o-mark"]);
  assert.is(r.status, 0, show(r));
  assert.is(r.stdout, "");
  const evs = ndjson(readFileSync(out, "utf8"));
  const ex = evs.find((e) => e.event === "exec" && e.argv?.[1] === "o-mark");
  assert.ok(ex, readFileSync(out, "utf8"));
  for (const e of evs) {
    assert.type(e.elapsed_s, "number");
    assert.ok(e.elapsed_s >= 0 && e.elapsed_s < 60, JSON.stringify(e));
  }
  // Text mode: relative times are "+s.mmm".
  const txt = tsbpf(["trace", "--time", "rel", "--", "/bin/true"]);
  assert.is(txt.status, 0, show(txt));
  assert.match(txt.stdout, /^\+\d+\.\d{3}s\s+exec\s/m, show(txt));
});

test("text mode: hostile argv (ESC, newline, C1 CSI, bidi override) is escaped on stdout", () => {
  if (!ok) return;
  const hostile = ["\x1b[2J\x1b]0;pwned\x07", "line1\nline2", "\u009b31m", "abc\u202edef", "\r"];
  const r = tsbpf(["trace", "--", "/bin/true", ...hostile]);
  assert.is(r.status, 0, show(r));
  const out = r.stdout;
  // No C0 control other than \n, no DEL, no C1, no bidi control reaches the terminal.
  assert.not.match(out, /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
  const exec = out.split("\n").filter((l) => / exec /.test(l) && l.includes("line1"));
  assert.is(exec.length, 1, out);
  assert.ok(!out.includes("line2\n") || exec[0]?.includes("line2"), "argv's newline did not split the line");
  assert.ok(exec[0]?.includes("line2"), exec[0]);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
