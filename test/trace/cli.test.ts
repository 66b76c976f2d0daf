// `tsbpf trace` end to end on the real kernel: the -- CMD mode, text and JSON output,
// kernel and user-side filters, capture options.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { privileged } from "../helpers/env.ts";
import { type Ev, ndjson, show, tsbpf } from "./helpers.ts";

const ok = privileged("tsbpf trace end to end");
const work = mkdtempSync(join(tmpdir(), "tsbpf-trace-"));

const byPid = (evs: Ev[], kind: string, pred: (e: Ev) => boolean) =>
  evs.filter((e) => e.event === kind && pred(e));

test("--json -- /bin/echo hi: its exec with the exact argv, its exit 0, status 0", () => {
  if (!ok) return;
  const r = tsbpf(["trace", "--json", "--", "/bin/echo", "hi"]);
  assert.is(r.status, 0, show(r));
  const evs = ndjson(r.stdout);
  const exec = byPid(evs, "exec", (e) => e.filename === "/bin/echo");
  assert.is(exec.length, 1, show(r));
  assert.equal(exec[0]?.argv, ["/bin/echo", "hi"]);
  assert.is(exec[0]?.argv_truncated, false);
  const exit = byPid(evs, "exit", (e) => e.pid === exec[0]?.pid);
  assert.is(exit.length, 1, show(r));
  assert.is(exit[0]?.exit_code, 0);
  assert.is(exit[0]?.signal, null);
  assert.ok(r.stdout.includes("hi\n"), "CMD's stdout is inherited");
  // Only the command's tree is traced.
  for (const e of evs) if (e.event === "exec") assert.is(e.pid, exec[0]?.pid, show(r));
});

test("-- sh -c 'exit 7' exits 7; SIGKILL → 137 and 'killed by SIGKILL' in text mode", () => {
  if (!ok) return;
  const seven = tsbpf(["trace", "--", "sh", "-c", "exit 7"]);
  assert.is(seven.status, 7, show(seven));
  assert.match(seven.stdout, /exit 7/);
  const killed = tsbpf(["trace", "--", "sh", "-c", "kill -9 $$"]);
  assert.is(killed.status, 137, show(killed));
  assert.match(killed.stdout, /killed by SIGKILL/, show(killed));
});

test("text mode: aligned columns, and an escape sequence in argv is printed escaped", () => {
  if (!ok) return;
  const out = join(work, "text.out");
  const r = tsbpf(["trace", "-o", out, "--", "/usr/bin/printf", "\x1b[31mRED%s\\n", "\x1b]0;title\x07"]);
  assert.is(r.status, 0, show(r));
  const text = readFileSync(out, "utf8");
  const lines = text.split("\n");
  assert.match(lines[0] ?? "", /^TIME\s+EVENT\s+PID\s+PPID\s+UID\s+COMM\s+DETAILS$/);
  const exec = lines.find((l) => / exec /.test(l) && l.includes("printf"));
  assert.ok(exec, text);
  assert.ok(!text.includes("\x1b"), "no raw ESC byte reaches the output");
  assert.ok(!text.includes("\x07"), "no raw BEL byte reaches the output");
  assert.ok(exec?.includes("\\x1b[31mRED"), exec);
  // Columns: the PID field ends at the same offset on every event line.
  const ev = lines.filter((l) => /^\d\d:\d\d:\d\d\.\d{3} +(exec|exit|fork) /.test(l));
  assert.ok(ev.length >= 2, text);
  const header = lines[0] ?? "";
  const pidEnd = header.indexOf("PID") + 3;
  for (const l of ev) assert.match(l.slice(0, pidEnd), /\d$/, `misaligned: ${l}`);
  assert.match(text, /=== Summary ===/);
});

test("--failed reports exec_failed with ENOENT for a missing binary", () => {
  if (!ok) return;
  const r = tsbpf(["trace", "--json", "--failed", "--", "sh", "-c", "/nonexistent-tsbpf-xyz; exit 0"]);
  assert.is(r.status, 0, show(r));
  const f = byPid(ndjson(r.stdout), "exec_failed", (e) => e.filename === "/nonexistent-tsbpf-xyz");
  assert.is(f.length, 1, show(r));
  assert.is(f[0]?.errno, 2);
  assert.is(f[0]?.error, "ENOENT");
});

test("--env captures the environment; without it, no env field", () => {
  if (!ok) return;
  const r = tsbpf(["trace", "--json", "--env", "--", "env", "TSBPF_MARK=on", "/bin/true"]);
  assert.is(r.status, 0, show(r));
  const e = byPid(ndjson(r.stdout), "exec", (x) => x.filename === "/bin/true");
  assert.is(e.length, 1, show(r));
  assert.ok(e[0]?.env?.includes("TSBPF_MARK=on"), JSON.stringify(e[0]));
  const plain = tsbpf(["trace", "--json", "--", "/bin/true"]);
  const p = byPid(ndjson(plain.stdout), "exec", (x) => x.filename === "/bin/true");
  assert.is(p.length, 1, show(plain));
  assert.is(p[0]?.env, undefined);
});

test("--max-args N shows N arguments (execsnoop); --arg-bytes N is the kernel's byte budget", () => {
  if (!ok) return;
  const argv = ["/bin/echo", "aaaaaaaaaa", "bbbbbbbbbb", "cc"];
  const r = tsbpf(["trace", "--json", "--max-args", "2", "--", ...argv]);
  assert.is(r.status, 0, show(r));
  const e = byPid(ndjson(r.stdout), "exec", (x) => x.filename === "/bin/echo");
  assert.is(e.length, 1, show(r));
  assert.equal(e[0]?.argv, ["/bin/echo", "aaaaaaaaaa"]);
  assert.is(e[0]?.argv_truncated, true);
  assert.is(e[0]?.argc, 4);
  const x = byPid(ndjson(r.stdout), "exit", (x) => x.pid === e[0]?.pid);
  assert.equal(x[0]?.argv, ["/bin/echo", "aaaaaaaaaa"], "the exit's argv is cut the same way");

  const b = tsbpf(["trace", "--json", "--arg-bytes", "16", "--", ...argv]);
  assert.is(b.status, 0, show(b));
  const eb = byPid(ndjson(b.stdout), "exec", (x) => x.filename === "/bin/echo");
  assert.is(eb.length, 1, show(b));
  assert.is(eb[0]?.argv_truncated, true);
  assert.is(eb[0]?.argc, 4);
  assert.is(eb[0]?.argv[0], "/bin/echo");
  assert.ok(((eb[0]?.argv ?? []) as string[]).join("\0").length <= 16, JSON.stringify(eb[0]?.argv));
});

test("--comm filters on the user side (glob)", () => {
  if (!ok) return;
  const r = tsbpf(["trace", "--json", "--comm", "tru*", "--", "sh", "-c", "/bin/echo x; /bin/true"]);
  assert.is(r.status, 0, show(r));
  const evs = ndjson(r.stdout);
  assert.ok(evs.length > 0, show(r));
  for (const e of evs) assert.match(e.comm, /^tru/, show(r));
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
