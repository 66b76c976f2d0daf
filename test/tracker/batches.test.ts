// TraceSession.batches(), the stream `tsbpf trace` reads: the same events as events(),
// a ring-buffer drain at a time, on the real kernel. A shell traced from its start
// (rootPids) forks 40 children; every fork and exit must arrive, in order (each
// child's fork before its exit), with the loss counters' final report at the end.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { TraceEvent } from "../../src/tracker/events.ts";
import { openSession } from "../../src/tracker/source.ts";
import { privileged } from "../helpers/env.ts";

test("batches(): every event of a traced shell's 40 forks, in order, a drain per array", async () => {
  if (!privileged("batches() on a live trace")) return;
  const session = await openSession({ rootPids: [], seedProc: false, lossPollMs: 100 });
  const sh = spawn(
    "/bin/sh",
    ["-c", "read x; i=0; while [ $i -lt 40 ]; do /bin/true & wait; i=$((i+1)); done"],
    {
      stdio: ["pipe", "ignore", "ignore"],
    },
  );
  const pid = sh.pid as number;
  session.track(pid);
  sh.stdin?.write("go\n");
  const shDone = new Promise((r) => sh.on("exit", r));
  void shDone.then(() => setTimeout(() => session.stop(), 100));
  const guard = setTimeout(() => session.stop(), 30_000);
  const seen: TraceEvent[] = [];
  let batches = 0;
  const arrays = new Set<readonly TraceEvent[]>();
  try {
    for await (const batch of session.batches()) {
      assert.ok(batch.length > 0, "no empty batch is handed out");
      batches++;
      // Copied out: the array is only valid until the next iteration.
      if (batch.some((e) => e.event !== "lost")) arrays.add(batch);
      seen.push(...batch);
    }
  } finally {
    clearTimeout(guard);
    session.close();
  }
  const forks = seen.filter((e) => e.event === "fork" && e.pid === pid);
  assert.is(forks.length, 40, "every fork of the shell");
  for (const f of forks) {
    if (f.event !== "fork") continue;
    const child = f.child_pid;
    const iFork = seen.indexOf(f);
    const iExit = seen.findIndex((e) => e.event === "exit" && e.pid === child);
    assert.ok(iExit > iFork, `child ${child}: exit after its fork`);
  }
  assert.ok(
    seen.some((e) => e.event === "exit" && e.pid === pid),
    "the shell's own exit",
  );
  assert.ok(batches >= 1 && batches <= seen.length);
  // Events come in one reused array (loss reports in arrays of their own).
  assert.is(arrays.size, 1, `${batches} batches of events in ${arrays.size} arrays`);
});

test.run();
