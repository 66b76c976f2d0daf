// Completeness: 20,000 fork+exec+exit rounds under `tsbpf trace --json -- driver N`.
// Per kind, the events reported plus the `lost` counts of that kind must equal exactly
// what the driver did: nothing silently dropped, nothing duplicated or invented.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ExecEvent, ExitEvent, ForkEvent, LostEvent } from "../../src/tracker/events.ts";
import { haveTool, privileged } from "../helpers/env.ts";
import { buildWorkloads, runTrace } from "../workload/oracle.ts";

const ROUNDS = Number(process.env.TSBPF_COMPLETENESS_ROUNDS ?? 20_000);
const enabled = privileged("completeness under tsbpf trace") && haveTool("gcc");

test(`${ROUNDS} fork+exec+exit rounds: reported + lost == expected, per kind`, async () => {
  if (!enabled) return;
  const built = buildWorkloads();
  try {
    const t0 = Date.now();
    // ~900 rounds/s here; the limit is for a slow, shared 2-core CI machine.
    const r = await runTrace(["--json", "--", built.driver, String(ROUNDS)], {
      cwd: built.dir,
      timeoutMs: 170_000,
    });
    const secs = (Date.now() - t0) / 1000;
    assert.is(r.code, 0, `tsbpf trace or the driver failed (${r.code}):\n${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, `rounds=${ROUNDS} ok=${ROUNDS}`, "the driver ran every round");

    const forks = r.events.filter((e): e is ForkEvent => e.event === "fork");
    const execs = r.events.filter((e): e is ExecEvent => e.event === "exec");
    const exits = r.events.filter((e): e is ExitEvent => e.event === "exit");
    const lost = r.events.filter((e): e is LostEvent => e.event === "lost");
    const lostOf = (kind: string) => lost.filter((e) => e.kind === kind).reduce((n, e) => n + e.count, 0);
    // (An `alert` is expected: the driver runs from /tmp, a world-writable directory.)
    const others = r.events.filter((e) => !["fork", "exec", "exit", "lost", "alert"].includes(e.event));

    // The driver itself: its exec (the gate shell exec's it; no fork is involved) and its exit.
    const driverExec = execs.find((e) => e.filename === built.driver);
    const driverPid =
      driverExec?.pid ??
      // Its own exec may be among the lost: it is the process that forked.
      (forks[0]?.pid as number);
    const expected = { fork: ROUNDS, exec: ROUNDS + 1, exit: ROUNDS + 1 };
    const reported = { fork: forks.length, exec: execs.length, exit: exits.length };
    const lostBy = { fork: lostOf("fork"), exec: lostOf("exec"), exit: lostOf("exit") };
    const summary = `reported ${JSON.stringify(reported)} lost ${JSON.stringify(lostBy)} in ${secs.toFixed(1)} s`;
    console.log(`  ${summary}`);

    assert.equal(others, [], "no other event types");
    assert.equal(
      lost.filter((e) => !["fork", "exec", "exit"].includes(e.kind)),
      [],
      "no rate-limit drops (no --rate-limit given)",
    );
    for (const k of ["fork", "exec", "exit"] as const)
      assert.is(reported[k] + lostBy[k], expected[k], `${k}: reported + lost == expected (${summary})`);

    // What was reported is right: parents, images, statuses; no duplicates.
    assert.ok(
      forks.every((f) => f.pid === driverPid && !f.thread),
      "every fork is the driver's",
    );
    assert.is(
      new Set(forks.map((f) => f.child_exec_id ?? f.child_pid)).size,
      forks.length,
      "no duplicate fork",
    );
    const children = execs.filter((e) => e.pid !== driverPid);
    assert.ok(
      children.every((e) => e.filename === "/bin/true" && e.argv.length === 1 && e.ppid === driverPid),
      "every child exec is /bin/true under the driver",
    );
    assert.is(new Set(children.map((e) => e.exec_id)).size, children.length, "no duplicate exec");
    const childExits = exits.filter((e) => e.pid !== driverPid);
    assert.ok(
      childExits.every((e) => e.exit_code === 0 && e.signal === null && e.ppid === driverPid),
      "every child exits 0 under the driver",
    );
    assert.is(new Set(childExits.map((e) => e.exec_id)).size, childExits.length, "no duplicate exit");
  } finally {
    built.cleanup();
  }
});

test.run();
