// The executable as the kernel sees it (issue 18 items 1, 3 and 10): `exe` is the
// path of the file actually executed, from its dentry chain, and the rules decide
// from the kernel's facts about it (directory mode, sticky bit, link count, memfd),
// not from the path string given to execve.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { haveTool, privileged } from "../helpers/env.ts";
import { type Ev, ndjson, show, tsbpf } from "./helpers.ts";

const ok = privileged("exe from the kernel's view");
const work = mkdtempSync(join(tmpdir(), "tsbpf-hardening-exe-"));
chmodSync(work, 0o755);

/** Runs `trace --json -- sh -c script`; returns exec and alert events. */
function traceSh(script: string, extra: string[] = []): { execs: Ev[]; alerts: Ev[]; all: Ev[] } {
  const r = tsbpf(["trace", "--json", ...extra, "--", "sh", "-c", script]);
  assert.ok(r.status === 0 || r.status === 1, show(r));
  const all = ndjson(r.stdout);
  return {
    execs: all.filter((e) => e.event === "exec"),
    alerts: all.filter((e) => e.event === "alert"),
    all,
  };
}

const rulesOf = (alerts: Ev[], pid: number) => alerts.filter((a) => a.pid === pid).map((a) => a.rule);

test("path tricks: exe is the resolved path; a 0755 directory under /tmp is not world-writable", () => {
  if (!ok) return;
  const dir = join(work, "x");
  mkdirSync(dir, { mode: 0o755 });
  copyFileSync("/bin/true", join(dir, "evilbin"));
  chmodSync(join(dir, "evilbin"), 0o755);
  const link = `/run/tsbpf-hardening-link-${process.pid}`;
  rmSync(link, { force: true });
  symlinkSync(join(dir, "evilbin"), link);
  try {
    const { execs, alerts } = traceSh(
      `cd ${dir}; /usr/..${dir}/evilbin a1; /usr/bin/../..${dir}/evilbin a2; /${dir}/evilbin a3; ./evilbin a4; ${link} a5`,
    );
    for (const mark of ["a1", "a2", "a3", "a4", "a5"]) {
      const e = execs.find((x) => x.argv[1] === mark);
      assert.ok(e, `exec ${mark} reported`);
      assert.is(e.exe, join(dir, "evilbin"), JSON.stringify(e));
      assert.is(e.exe_dir_mode, "0755");
      assert.equal(e.exe_flags, []);
      assert.equal(rulesOf(alerts, e.pid), [], JSON.stringify(alerts));
    }
  } finally {
    rmSync(link, { force: true });
  }
});

test("world-writable directories: 0777, sticky /dev/shm through a symlink, a non-sticky ancestor", () => {
  if (!ok) return;
  const ww = join(work, "ww");
  mkdirSync(ww);
  chmodSync(ww, 0o777);
  copyFileSync("/bin/true", join(ww, "bin1"));
  chmodSync(join(ww, "bin1"), 0o755);
  mkdirSync(join(ww, "sub"), { mode: 0o755 });
  copyFileSync("/bin/true", join(ww, "sub", "bin2"));
  chmodSync(join(ww, "sub", "bin2"), 0o755);
  const shm = `/dev/shm/tsbpf-hardening-${process.pid}`;
  copyFileSync("/bin/true", shm);
  chmodSync(shm, 0o755);
  const link = `/run/tsbpf-hardening-shm-${process.pid}`;
  rmSync(link, { force: true });
  symlinkSync(shm, link);
  try {
    const { execs, alerts } = traceSh(
      `/usr/..${ww}/bin1 w1; ${ww}/sub/../sub/bin2 w2; ${link} w3; cd ${ww}/sub && ./bin2 w4`,
    );
    const by = (m: string) => execs.find((x) => x.argv[1] === m) as Ev;
    assert.is(by("w1").exe, join(ww, "bin1"));
    assert.ok(by("w1").exe_flags.includes("dir_world_writable"));
    assert.is(by("w1").exe_dir_mode, "0777");
    assert.ok(by("w2").exe_flags.includes("ancestor_world_writable"), JSON.stringify(by("w2")));
    assert.is(by("w3").exe, shm);
    assert.equal(by("w3").exe_flags.slice(0, 2), ["dir_world_writable", "dir_sticky"]);
    for (const m of ["w1", "w2", "w3", "w4"])
      assert.ok(
        rulesOf(alerts, by(m).pid).includes("exec_world_writable"),
        `${m}: ${JSON.stringify(alerts)}`,
      );
  } finally {
    rmSync(link, { force: true });
    rmSync(shm, { force: true });
  }
});

// memfd forms, executed through many paths; perl is in every Debian (perl-base).
const MEMFD = `
$^F = 1000;                                 # keep every fd across exec
my ($how) = @ARGV;
my $name = "payload";                     # syscall() needs a writable scalar
my $fd = syscall(319, $name, 0);            # memfd_create (x86-64)
die "memfd_create: $!" if $fd < 0;
open(my $in, "<:raw", "/bin/true") or die; local $/; my $bin = <$in>;
open(my $out, ">&=:raw", $fd) or die; syswrite($out, $bin);
my %path = (
  self => "/proc/self/fd/$fd", thread => "/proc/thread-self/fd/$fd",
  slashes => "//proc/self/fd/$fd", dotdot => "/proc/self/fd/../fd/$fd",
  link => "$ENV{LINKDIR}/fdlink",
);
if ($how eq "stdin") { require POSIX; POSIX::dup2($fd, 0); exec { "/dev/stdin" } "sshd", "-D"; }
if ($how eq "link") { symlink("/proc/self/fd/$fd", $path{link}) or die; }
exec { $path{$how} } "sshd", "-D", $how;
die "exec: $!";
`;

test("fileless exec: memfd through any path, a deleted file; a file named '(deleted)' is not", () => {
  if (!ok || !haveTool("perl")) return;
  writeFileSync(join(work, "memfd.pl"), MEMFD);
  const forms = ["self", "thread", "slashes", "dotdot", "stdin", "link"];
  const del = join(work, "del");
  mkdirSync(del, { mode: 0o755 });
  copyFileSync("/bin/true", join(del, "gone"));
  chmodSync(join(del, "gone"), 0o755);
  const fake = join(work, "sshd (deleted)");
  copyFileSync("/bin/true", fake);
  chmodSync(fake, 0o755);
  const script = [
    ...forms.map((f) => `LINKDIR=${work} perl ${work}/memfd.pl ${f}`),
    // exec a file deleted after opening it: perl keeps the fd, execs /dev/fd/N.
    `perl -e '$^F=1000; open(my $f, "<", "${del}/gone") or die; unlink("${del}/gone"); exec { "/dev/fd/".fileno($f) } "gone", "d1"'`,
    `'${fake}' d2`,
  ].join("; ");
  const { execs, alerts } = traceSh(script);
  const payloads = execs.filter((e) => e.argv[0] === "sshd");
  assert.is(payloads.length, forms.length, JSON.stringify(execs.map((e) => e.filename)));
  for (const e of payloads) {
    assert.is(e.exe, "/memfd:payload", JSON.stringify(e));
    assert.ok(e.exe_flags.includes("memfd") && e.exe_flags.includes("unlinked"), JSON.stringify(e));
    assert.is(e.exe_nlink, 0);
    assert.ok(rulesOf(alerts, e.pid).includes("fileless_exec"), `${e.filename}: ${JSON.stringify(alerts)}`);
  }
  const gone = execs.find((e) => e.argv[1] === "d1") as Ev;
  assert.is(gone.exe, join(del, "gone"));
  assert.ok(gone.exe_flags.includes("unlinked"));
  assert.ok(rulesOf(alerts, gone.pid).includes("fileless_exec"));
  const named = execs.find((e) => e.argv[1] === "d2") as Ev;
  assert.is(named.exe, fake);
  assert.equal(rulesOf(alerts, named.pid), []);
});

test("rate limit: a flood of execs cannot hide an exec the kernel marks suspicious", () => {
  if (!ok) return;
  const ww = join(work, "flood");
  mkdirSync(ww);
  chmodSync(ww, 0o777);
  copyFileSync("/bin/true", join(ww, "hidden-by-flood"));
  chmodSync(join(ww, "hidden-by-flood"), 0o755);
  const { execs, alerts, all } = traceSh(
    `i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done; ${ww}/hidden-by-flood x`,
    ["--rate-limit", "10/s"],
  );
  assert.ok(
    all.some((e) => e.event === "lost" && String(e.kind).startsWith("ratelimit:")),
    "the flood was rate-limited",
  );
  const e = execs.find((x) => x.exe === join(ww, "hidden-by-flood"));
  assert.ok(e, "the suspicious exec was reported");
  assert.ok(e.exe_flags.includes("suspicious"));
  assert.ok(rulesOf(alerts, e.pid).includes("exec_world_writable"));
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
