// openTrace() as a library: what `tsbpf trace -- CMD --comm ... --exit-failed` does,
// without the CLI. A command run from its first instruction, user filters, rules,
// sinks, exit events that say what ran, a cgroup or container resolved by name.
import { mkdirSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cgroup2Root } from "../../src/tracker/cgroup.ts";
import { TraceConfigError } from "../../src/tracker/errors.ts";
import type { ExitEvent, TraceEvent } from "../../src/tracker/events.ts";
import type { TraceEnd, TraceSink } from "../../src/tracker/sink.ts";
import { openTrace, resolveCgroup } from "../../src/tracker/trace.ts";
import { privileged } from "../helpers/env.ts";

const SCRIPT = "/bin/true one; /bin/sh -c 'exit 3' two; /bin/sleep 0.2; /bin/echo done";

class Collect implements TraceSink {
  events: TraceEvent[] = [];
  ended: TraceEnd | undefined;
  write(ev: TraceEvent) {
    this.events.push(ev);
  }
  end(e: TraceEnd) {
    this.ended = e;
  }
}

test("openTrace({ command }): every exec from the first, exits carry argv, the command's status", async () => {
  if (!privileged("openTrace with a command")) return;
  const t = await openTrace({ command: ["/bin/sh", "-c", SCRIPT], commandStdio: "ignore", seedProc: false });
  const c = new Collect();
  const end = await t.run([c]);
  t.close();
  assert.is(end.command?.status, 0);
  assert.is(end.rootPid, t.command?.pid);
  const execs = c.events.filter((e) => e.event === "exec");
  assert.equal(
    execs.map((e) => (e.event === "exec" ? e.filename : "")),
    ["/bin/sh", "/bin/true", "/bin/sh", "/bin/sleep", "/bin/echo"],
    "the command's own exec is the first, the gate shell's never shows",
  );
  const failed = c.events.find((e): e is ExitEvent => e.event === "exit" && e.exit_code === 3);
  assert.ok(failed, JSON.stringify(c.events));
  assert.is(failed?.filename, "/bin/sh");
  assert.equal(failed?.argv, ["/bin/sh", "-c", "exit 3", "two"]);
  const sleep = c.events.find((e): e is ExitEvent => e.event === "exit" && e.filename === "/bin/sleep");
  assert.ok(sleep && sleep.lifetime_ns >= 150e6, JSON.stringify(sleep));
  assert.is(c.ended, end);
});

test("openTrace({ exitFailed, comm }): only the failed exit, only matching comms", async () => {
  if (!privileged("openTrace with filters")) return;
  const t = await openTrace({ command: ["/bin/sh", "-c", SCRIPT], commandStdio: "ignore", exitFailed: true });
  const seen: TraceEvent[] = [];
  for await (const ev of t.events()) seen.push(ev);
  t.close();
  assert.equal(
    seen.filter((e) => e.event !== "lost").map((e) => [e.event, e.event === "exit" ? e.exit_code : -1]),
    [["exit", 3]],
  );
  const t2 = await openTrace({ command: ["/bin/sh", "-c", SCRIPT], commandStdio: "ignore", comm: "ech*" });
  const seen2: TraceEvent[] = [];
  for await (const b of t2.batches()) seen2.push(...b);
  t2.close();
  const kinds = seen2.filter((e) => e.event !== "lost");
  assert.ok(kinds.length >= 2, JSON.stringify(seen2));
  for (const e of kinds) assert.is(e.comm, "echo");
});

test("openTrace({ rules }): an alert follows its exec; rules: [] raises none", async () => {
  if (!privileged("openTrace with rules")) return;
  const rule = {
    id: "echo-seen",
    severity: "low" as const,
    description: "echo ran",
    check: (ev: { filename: string }) => (ev.filename === "/bin/echo" ? "echo" : null),
  };
  const t = await openTrace({ command: ["/bin/echo", "x"], commandStdio: "ignore", rules: [rule] });
  const seen: TraceEvent[] = [];
  for await (const ev of t.events()) seen.push(ev);
  t.close();
  const i = seen.findIndex((e) => e.event === "alert" && e.rule === "echo-seen");
  assert.ok(i > 0, JSON.stringify(seen));
  assert.is(seen[i - 1]?.event, "exec");
});

test("resolveCgroup: a path and a container id to the directory's inode; bad ones are TraceConfigError", () => {
  if (!privileged("cgroup resolution")) return;
  const hex = "f00dfeed".repeat(8);
  const dir = join(cgroup2Root(), `tsbpf-tracer-ux-${hex}`);
  mkdirSync(dir);
  try {
    const ino = BigInt(statSync(dir).ino);
    assert.is(resolveCgroup({ cgroup: dir }), ino);
    assert.is(resolveCgroup({ container: hex.slice(0, 12) }), ino);
    assert.throws(
      () => resolveCgroup({ cgroup: "/no/such/cgroup-x" }),
      (e: unknown) => e instanceof TraceConfigError && e.setting === "cgroup" && !/--/.test(e.message),
    );
    assert.throws(
      () => resolveCgroup({ container: "zz" }),
      (e: unknown) => e instanceof TraceConfigError,
    );
  } finally {
    rmdirSync(dir);
  }
});

test.run();
