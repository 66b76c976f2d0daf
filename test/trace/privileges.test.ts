// Issue 18 item 9: after attach the tracer keeps no capability it does not need, `-- CMD`
// never inherits the tracer's, and the help's capability list is what the kernel asks
// for. Run under util-linux setpriv with reduced sets: root confined to CAP_BPF +
// CAP_PERFMON, and nobody with those two as ambient capabilities (systemd's
// AmbientCapabilities=). The CMD reports its own sets and its parent's (the tracer's,
// after attach: CMD is released only then) from /proc.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertOneLineError } from "../helpers/cli.ts";
import { haveTool, privileged } from "../helpers/env.ts";
import { ndjson, RunningTrace, show, TIMEOUT_MS, tsbpf } from "./helpers.ts";

const ok = privileged("trace privileges") && haveTool("setpriv");
const work = mkdtempSync(join(tmpdir(), "tsbpf-hardening-caps-"));
// nobody runs the script and writes its report here.
chmodSync(work, 0o777);
const script = join(work, "caps.sh");
writeFileSync(
  script,
  `#!/bin/sh
grep -E '^(Cap|NoNewPrivs)' /proc/self/status | sed 's/^/cmd./' > "$1"
grep -E '^(Cap|NoNewPrivs)' /proc/$PPID/status | sed 's/^/tracer./' >> "$1"
`,
);
chmodSync(script, 0o755);

const NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];
const ambient = (caps: string) => [...NOBODY, `--inh-caps=-all,${caps}`, `--ambient-caps=-all,${caps}`];
/** Root, but only these capabilities (a service with CapabilityBoundingSet=). */
const confinedRoot = (caps: string) => ["setpriv", "--inh-caps=-all", `--bounding-set=-all,${caps}`];
/** nobody's HOME does not exist; tsx keeps its cache under it. */
const ENV = { HOME: "/tmp" };

type Report = Record<string, bigint>;

function runCaps(prefix: string[], name: string, extra: string[] = []): { report: Report; events: string } {
  const report = join(work, `${name}.caps`);
  const events = join(work, `${name}.events`);
  rmSync(report, { force: true });
  const r = tsbpf(["trace", "-q", "--json", "-o", events, ...extra, "--", script, report], {
    prefix,
    env: ENV,
  });
  assert.is(r.status, 0, show(r));
  const out: Report = {};
  for (const line of readFileSync(report, "utf8").trim().split("\n")) {
    const m = /^(\w+\.\w+):\s*([0-9a-f]+)$/.exec(line);
    if (m) out[m[1] as string] = BigInt(m[1]?.endsWith("NoNewPrivs") ? (m[2] as string) : `0x${m[2]}`);
  }
  return { report: out, events: readFileSync(events, "utf8") };
}

const CAP_SYS_ADMIN = 1n << 21n;

function assertTracerDropped(r: Report, label: string): void {
  for (const set of ["CapEff", "CapPrm", "CapInh", "CapAmb"])
    assert.is(r[`tracer.${set}`], 0n, `${label}: tracer ${set} after attach`);
}

function assertCmdHasNone(r: Report, label: string): void {
  for (const set of ["CapEff", "CapPrm", "CapInh", "CapAmb"])
    assert.is(r[`cmd.${set}`], 0n, `${label}: CMD ${set}`);
}

test("root: every capability given up after attach; an administrator's CMD runs as root", () => {
  if (!ok) return;
  const { report, events } = runCaps([], "root");
  assertTracerDropped(report, "root");
  // It held CAP_SETPCAP: the bounding set is empty too, so no execve brings one back.
  assert.is(report["tracer.CapBnd"], 0n, "tracer bounding set");
  assert.is(report["cmd.CapAmb"], 0n);
  assert.is(report["cmd.CapInh"], 0n);
  assert.ok(
    ((report["cmd.CapEff"] ?? 0n) & CAP_SYS_ADMIN) !== 0n,
    "sudo-like: CMD is root with root's capabilities",
  );
  assert.ok(ndjson(events).some((e) => e.event === "exec" && e.filename === script));
});

test("root confined to CAP_BPF + CAP_PERFMON: traces, then holds nothing; CMD gets nothing", () => {
  if (!ok) return;
  const { report, events } = runCaps(confinedRoot("+bpf,+perfmon"), "confined");
  assertTracerDropped(report, "confined root");
  // No CAP_SETPCAP to empty the bounding set: no_new_privs keeps a root execve from
  // taking CAP_BPF and CAP_PERFMON back from it.
  assert.is(report["tracer.NoNewPrivs"], 1n);
  assertCmdHasNone(report, "confined root");
  assert.ok(ndjson(events).some((e) => e.event === "exec" && e.filename === script));
});

test("nobody with ambient CAP_BPF + CAP_PERFMON: traces; CMD inherits neither", () => {
  if (!ok) return;
  const { report, events } = runCaps(ambient("+bpf,+perfmon"), "ambient");
  assertTracerDropped(report, "ambient");
  assertCmdHasNone(report, "ambient");
  const ev = ndjson(events).find((e) => e.event === "exec" && e.filename === script);
  assert.ok(ev, "the CMD's exec was traced");
  assert.is(ev.uid, 65534, "CMD runs as the invoking user");
});

test("--failed without root: CAP_BPF + CAP_PERFMON are refused with one line naming CAP_DAC_READ_SEARCH", () => {
  if (!ok) return;
  const r = tsbpf(["trace", "-q", "-x", "-o", "/dev/null", "--", "/bin/true"], {
    prefix: ambient("+bpf,+perfmon"),
    env: ENV,
  });
  assertOneLineError(r, 1, /tracefs .*CAP_DAC_READ_SEARCH/, "--failed as nobody");
});

test("--failed without root: CAP_BPF + CAP_PERFMON + CAP_DAC_READ_SEARCH suffice, as the help says", () => {
  if (!ok) return;
  const events = join(work, "failed.events");
  const r = tsbpf(
    [
      "trace",
      "-q",
      "--json",
      "-x",
      "-o",
      events,
      "--",
      "sh",
      "-c",
      "/nonexistent-tsbpf-caps 2>/dev/null; true",
    ],
    { prefix: ambient("+bpf,+perfmon,+dac_read_search"), env: ENV },
  );
  assert.is(r.status, 0, show(r));
  const failed = ndjson(readFileSync(events, "utf8")).find(
    (e) => e.event === "exec_failed" && e.filename === "/nonexistent-tsbpf-caps",
  );
  assert.ok(failed, "exec_failed reported");
  assert.is(failed.errno, 2, "ENOENT");
});

test("nobody without capabilities: refused with one line", () => {
  if (!ok) return;
  const r = tsbpf(["trace", "-q", "-o", "/dev/null", "--", "/bin/true"], {
    prefix: [...NOBODY, "--inh-caps=-all"],
    env: ENV,
  });
  assertOneLineError(r, 1, /trace needs root, or CAP_BPF \+ CAP_PERFMON/, "nobody");
});

test("help lists what each privilege is for", () => {
  const r = tsbpf(["trace", "--help"]);
  assert.is(r.status, 0);
  const flat = r.stdout.replace(/\s+/g, " ");
  assert.match(flat, /root, or CAP_BPF \+ CAP_PERFMON/);
  assert.match(flat, /--failed also needs CAP_DAC_READ_SEARCH/);
  assert.match(flat, /CAP_SYS_PTRACE lets it read \/proc\/PID\/exe/);
  assert.match(flat, /never inherits tsbpf's capabilities/);
});

test("system-wide: CAP_SYS_PTRACE is kept while /proc is read, then given up too", async () => {
  if (!ok) return;
  const t = new RunningTrace(["trace", "-q", "-o", "/dev/null", "-d", "60"]);
  try {
    const pid = t.child.pid as number;
    const deadline = Date.now() + TIMEOUT_MS;
    let status = "";
    for (;;) {
      try {
        status = readFileSync(`/proc/${pid}/status`, "utf8");
      } catch {
        assert.unreachable(`tracer exited early\n${t.stderr}`);
      }
      if (/^CapPrm:\s*0+$/m.test(status)) break;
      if (Date.now() > deadline) assert.unreachable(`capabilities still held:\n${status}\n${t.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(status, /^CapEff:\s*0+$/m);
    assert.match(status, /^CapBnd:\s*0+$/m);
  } finally {
    t.child.kill("SIGTERM");
    await t.done;
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
