// What the tracer writes (issue 18 items 4, 5, 6 and 8's -o symlink and --duration):
// output files 0600, secrets in env redacted, a full disk ends with one line and the
// summary on stderr, the real executable shown in text, long durations honoured.
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { privileged } from "../helpers/env.ts";
import { ndjson, RunningTrace, show, tsbpf } from "./helpers.ts";

const ok = privileged("trace output safety");
const work = mkdtempSync(join(tmpdir(), "tsbpf-hardening-out-"));
chmodSync(work, 0o755);

test("--env -o FILE: mode 0600, secret values redacted, --env-keep and --output-mode", () => {
  if (!ok) return;
  const f = join(work, "env.ndjson");
  const cmd = ["sh", "-c", "AWS_SECRET_ACCESS_KEY=hunter2 GITHUB_TOKEN=t0k DB_PASSWORD=pw FOO=bar /bin/true"];
  const r = tsbpf(["trace", "--json", "--env", "-o", f, "--", ...cmd]);
  assert.is(r.status, 0, show(r));
  assert.is(statSync(f).mode & 0o777, 0o600);
  const ev = ndjson(readFileSync(f, "utf8")).find((e) => e.event === "exec" && e.filename === "/bin/true");
  assert.ok(ev, "exec of /bin/true");
  assert.ok(ev.env.includes("AWS_SECRET_ACCESS_KEY=***"), JSON.stringify(ev.env));
  assert.ok(ev.env.includes("GITHUB_TOKEN=***"));
  assert.ok(ev.env.includes("DB_PASSWORD=***"));
  assert.ok(ev.env.includes("FOO=bar"));
  assert.not.ok(ev.env.some((v: string) => v.includes("hunter2")));
  const g = join(work, "keep.ndjson");
  const k = tsbpf([
    "trace",
    "--json",
    "--env",
    "--env-keep",
    "AWS_*",
    "--output-mode",
    "0640",
    "-o",
    g,
    "--",
    ...cmd,
  ]);
  assert.is(k.status, 0, show(k));
  assert.is(statSync(g).mode & 0o777, 0o640);
  const kev = ndjson(readFileSync(g, "utf8")).find((e) => e.event === "exec" && e.filename === "/bin/true");
  assert.ok(kev, "exec of /bin/true");
  assert.ok(kev.env.includes("AWS_SECRET_ACCESS_KEY=hunter2"));
  assert.ok(kev.env.includes("GITHUB_TOKEN=***"));
});

test("-o /dev/full: one clear line, summary on stderr, exit 1, no stack trace", () => {
  if (!ok) return;
  const r = tsbpf(["trace", "-o", "/dev/full", "--", "sh", "-c", "for i in 1 2 3; do /bin/true; done"]);
  assert.is(r.status, 1, show(r));
  const lines = r.stderr.trim().split("\n");
  assert.match(
    lines[lines.length - 1],
    /^tsbpf: trace: cannot write \/dev\/full: .*ENOSPC.*; tracing stopped, programs detached$/,
  );
  assert.not.match(r.stderr, /\n\s+at /);
  assert.match(r.stderr, /exec/i, "the summary went to stderr");
});

test("-o: another user's symlink in a sticky world-writable directory is not followed", () => {
  if (!ok || process.geteuid?.() !== 0) return;
  const sticky = join(work, "sticky");
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const target = join(work, "victim");
  copyFileSync("/etc/hostname", target);
  const link = join(sticky, "out.txt");
  symlinkSync(target, link);
  lchownSync(link, 65534, 65534);
  const before = readFileSync(target, "utf8");
  const r = tsbpf(["trace", "-o", link, "--", "/bin/true"]);
  assert.is(r.status, 1, show(r));
  // ELOOP from O_NOFOLLOW, or EACCES when fs.protected_symlinks refused first.
  assert.match(r.stderr, /cannot (write|open) .*(ELOOP|EACCES)/, r.stderr);
  assert.is(readFileSync(target, "utf8"), before);
});

test("text: the real executable is shown when argv[0] says otherwise", () => {
  if (!ok) return;
  const dir = join(work, "run-x");
  mkdirSync(dir, { mode: 0o755 });
  copyFileSync("/bin/true", join(dir, "sshd"));
  chmodSync(join(dir, "sshd"), 0o755);
  // execv("/run-x/sshd", ["/usr/sbin/sshd", "-D"]) through bash's exec -a
  const r = tsbpf(["trace", "--", "bash", "-c", `exec -a /usr/sbin/sshd ${dir}/sshd -D`]);
  assert.is(r.status, 0, show(r));
  const line = r.stdout.split("\n").find((l) => l.includes("/usr/sbin/sshd -D"));
  assert.ok(line, r.stdout);
  assert.match(line, new RegExp(`\\(exe ${join(dir, "sshd").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)`));
  // The summary tree too.
  assert.ok(
    r.stdout
      .split("\n")
      .some(
        (l) =>
          l.includes("/usr/sbin/sshd -D") && l.includes(`(exe ${join(dir, "sshd")})`) && !l.includes("exec "),
      ),
    r.stdout,
  );
});

test("--duration 2147484 (over 2^31 ms) does not end the trace at once", async () => {
  if (!ok) return;
  const t = new RunningTrace(["trace", "--json", "--duration", "2147484"]);
  try {
    await new Promise((r) => setTimeout(r, 4000));
    assert.is(t.child.exitCode, null, `exited early: ${t.stderr}`);
  } finally {
    await t.stop();
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
