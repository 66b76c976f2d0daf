// Loss accounting under real loss: `tsbpf trace --json --ring-size 4096 -- driver N`
// with a deliberately slow reader of the tracer's stdout. The tracer writes its NDJSON
// with blocking writes (src/tracker/output.ts), so while this test does not read, the pipe
// fills, the tracer stops draining, the 4 KiB ring fills, and bpf_ringbuf_reserve /
// bpf_ringbuf_output fail in the kernel: process.bpf.c counts each failure in `lost`.
// No test-only hook in the tracer: this is the backpressure a real slow consumer
// (`tsbpf trace --json | slow-program`) causes.
//
// The oracle: for each kind, events reported + sum of `lost` counts == what the driver
// did, exactly, with at least one record really lost, and nothing reported twice.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ExecEvent, ExitEvent, ForkEvent, LostEvent, TraceEvent } from "../../src/tracker/events.ts";
import { haveTool, privileged } from "../helpers/env.ts";
import { type Built, buildWorkloads, identity, startTrace, type TraceRun } from "../workload/oracle.ts";

const enabled = privileged("loss accounting under tsbpf trace") && haveTool("gcc");

/** The reader's duty cycle: stalled this long, then reading this long, until the tracer exits. */
const STALL_MS = 700;
const READ_MS = 300;

/** Runs the traced driver while reading the tracer's stdout only part of the time. */
async function slowlyRead(built: Built, rounds: number, ringSize: string): Promise<TraceRun> {
  const h = startTrace(["--json", "--ring-size", ringSize, "--", built.driver, String(rounds)], {
    cwd: built.dir,
    // The ring-buffer object: its drops are counted per event type (the perf fallback's
    // full-ring drops carry no type, kind perf_buffer).
    env: { TSBPF_FORCE_PERF: "" },
  });
  const out = h.child.stdout;
  if (!out) throw new Error("no stdout pipe");
  // Stalled from the start: the driver only runs once the tracer is attached.
  out.pause();
  let stalled = true;
  let timer: NodeJS.Timeout | undefined;
  const flip = () => {
    stalled = !stalled;
    if (stalled) out.pause();
    else out.resume();
    timer = setTimeout(flip, stalled ? STALL_MS : READ_MS);
  };
  timer = setTimeout(flip, STALL_MS);
  h.child.on("exit", () => {
    clearTimeout(timer);
    out.resume();
  });
  try {
    // ~900 rounds/s unthrottled here, far fewer while stalled; generous for a slow CI box.
    return await h.done(170_000);
  } finally {
    clearTimeout(timer);
  }
}

const sumLost = (lost: LostEvent[], kind: string) =>
  lost.filter((e) => e.kind === kind).reduce((n, e) => n + e.count, 0);

test("slow reader + 4 KiB ring: reported + lost == expected per kind, with real losses", async () => {
  if (!enabled) return;
  const built = buildWorkloads();
  try {
    // Losses are all but certain on the first attempt (a stalled reader blocks the
    // drain for STALL_MS while the driver keeps forking); should a run lose nothing,
    // it proves nothing, so run again with more rounds.
    const attempts = [4000, 8000];
    for (let i = 0; i < attempts.length; i++) {
      const rounds = attempts[i] as number;
      const t0 = Date.now();
      const r = await slowlyRead(built, rounds, "4096");
      const secs = (Date.now() - t0) / 1000;
      assert.is(r.code, 0, `tsbpf trace or the driver failed (${r.code}):\n${r.stderr.slice(-2000)}`);
      assert.match(r.stderr, `rounds=${rounds} ok=${rounds}`, "the driver ran every round");

      const forks = r.events.filter((e): e is ForkEvent => e.event === "fork");
      const execs = r.events.filter((e): e is ExecEvent => e.event === "exec");
      const exits = r.events.filter((e): e is ExitEvent => e.event === "exit");
      const lost = r.events.filter((e): e is LostEvent => e.event === "lost");
      // (An `alert` is expected: the driver runs from /tmp, a world-writable directory.)
      const others = r.events.filter((e) => !["fork", "exec", "exit", "lost", "alert"].includes(e.event));
      assert.equal(others, [], "no other event types");
      assert.equal(
        lost.filter((e) => !["fork", "exec", "exit"].includes(e.kind)),
        [],
        "every drop is attributed to fork, exec or exit (no rate limit, no perf_buffer)",
      );
      assert.ok(
        lost.every((e) => Number.isInteger(e.count) && e.count > 0),
        "every lost event counts at least one record",
      );

      // The driver forks `rounds` children, each execs /bin/true and exits; plus the
      // driver's own exec (the gate shell exec's it, no fork) and exit.
      const expected = { fork: rounds, exec: rounds + 1, exit: rounds + 1 };
      const reported = { fork: forks.length, exec: execs.length, exit: exits.length };
      const lostBy = {
        fork: sumLost(lost, "fork"),
        exec: sumLost(lost, "exec"),
        exit: sumLost(lost, "exit"),
      };
      const summary = `${rounds} rounds: reported ${JSON.stringify(reported)} lost ${JSON.stringify(lostBy)} in ${secs.toFixed(1)} s`;
      console.log(`  ${summary}`);

      // Nothing reported twice, whatever was dropped around it.
      const ids = [...forks, ...execs, ...exits].map(identity);
      const dup = ids.find((id, j) => ids.indexOf(id) !== j);
      assert.is(dup, undefined, `duplicate record: ${dup}`);
      // Exact accounting: the final lost events (read after the last drain) close the books.
      for (const k of ["fork", "exec", "exit"] as const)
        assert.is(reported[k] + lostBy[k], expected[k], `${k}: reported + lost == expected (${summary})`);

      // What got through is still right.
      const children = execs.filter((e) => e.filename !== built.driver);
      assert.ok(
        children.every((e) => e.filename === "/bin/true" && e.argv.length === 1),
        "every other exec is a child's /bin/true",
      );
      const childExits = exits.filter((e) => e.comm !== "driver");
      assert.ok(
        childExits.every((e) => e.exit_code === 0 && e.signal === null),
        "every child exits 0",
      );

      const total = lostBy.fork + lostBy.exec + lostBy.exit;
      if (total > 0) return;
      if (i === attempts.length - 1)
        assert.unreachable(`no record was lost in any attempt (${summary}): the loss path was not exercised`);
      console.log("  nothing lost: running again with more rounds");
    }
  } finally {
    built.cleanup();
  }
});

test.run();
