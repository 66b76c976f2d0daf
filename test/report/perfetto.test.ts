import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildTrace } from "../../src/report/model.ts";
import { toTraceEvents } from "../../src/report/perfetto.ts";
import { exec, exit, fork, makeLike, proc } from "./events.ts";
import { checkTraceEvents } from "./trace-event-check.ts";

test("perfetto: a track per process, nested exec slices, fork flows from the parent", () => {
  const { events, make, a, b, link, ld } = makeLike();
  const doc = JSON.parse(JSON.stringify(toTraceEvents(buildTrace(events))));
  const { process, parentOf } = checkTraceEvents(doc);
  assert.equal([...process.keys()].sort(), [100, 101, 102, 103, 104]);
  assert.equal(Object.fromEntries(parentOf), { 101: 100, 102: 100, 103: 100, 104: 103 });
  assert.is(process.get(make.pid)?.ts, 0);
  assert.is(process.get(make.pid)?.dur, 122_000);
  assert.is(process.get(a.pid)?.ts, 1000);
  assert.is(process.get(b.pid)?.dur, 90_000 - 1100);
  // Sort order: each child right after its parent's subtree starts.
  const sort = new Map<number, number>();
  for (const e of doc.traceEvents) if (e.name === "process_sort_index") sort.set(e.pid, e.args.sort_index);
  assert.equal(
    [...sort.entries()].sort((x, y) => x[1] - y[1]).map((x) => x[0]),
    [make.pid, a.pid, b.pid, link.pid, ld.pid],
  );
  const execSlice = doc.traceEvents.find(
    (e: { cat: string; pid: number }) => e.cat === "exec" && e.pid === ld.pid,
  );
  assert.equal(execSlice.args.argv, ["ld", "-o", "app"]);
  assert.is(execSlice.ts, 92_300);
  assert.is(execSlice.ts + execSlice.dur, 120_000);
});

test("perfetto: re-exec gives two image slices; alerts are instants; reused pids get their own track", () => {
  const sh = proc(7, 1, "sh");
  const first = proc(8, 7, "x", sh);
  const again = { ...proc(8, 7, "y", sh), id: "8-99999" };
  const events = [
    exec(0, sh, ["sh"]),
    fork(10, sh, first),
    exec(20, first, ["env", "x"]),
    exec(30, first, ["x"]),
    exit(40, first, 2),
    fork(50, sh, again),
    exit(60, again, 0, 9),
    {
      event: "alert",
      time: exec(35, first, []).time,
      pid: 8,
      exec_id: first.id,
      rule: "r1",
      severity: "low",
      description: "",
      reason: "",
      filename: "",
    },
    { event: "lost", time: exec(45, sh, []).time, pid: 0, count: 3, kind: "fork" },
    exit(70, sh),
  ];
  const doc = JSON.parse(JSON.stringify(toTraceEvents(buildTrace(events))));
  const { process, parentOf } = checkTraceEvents(doc);
  assert.is(process.size, 3);
  const pids = [...process.keys()];
  assert.ok(pids.includes(8));
  const reused = pids.find((p) => p !== 7 && p !== 8) as number;
  assert.is(parentOf.get(reused), 7);
  const execs = doc.traceEvents.filter((e: { cat: string; pid: number }) => e.cat === "exec" && e.pid === 8);
  assert.equal(
    execs.map((e: { ts: number; dur: number }) => [e.ts, e.dur]),
    [
      [20, 10],
      [30, 10],
    ],
  );
  const alert = doc.traceEvents.find((e: { cat: string }) => e.cat === "alert");
  assert.equal([alert.ph, alert.s, alert.pid, alert.ts], ["i", "t", 8, 35]);
  const lost = doc.traceEvents.find((e: { cat: string }) => e.cat === "lost");
  assert.equal([lost.ph, lost.s, lost.ts], ["i", "g", 45]);
});

test.run();
