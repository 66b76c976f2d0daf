import { test } from "uvu";
import * as assert from "uvu/assert";
import { scriptSafeJson } from "../../src/report/html.ts";
import { buildTrace } from "../../src/report/model.ts";
import { parseNdjson, parseTimeUs, ReportInputError } from "../../src/report/parse.ts";
import { summarize } from "../../src/report/summary.ts";
import { buildTree, rowOrder } from "../../src/report/tree.ts";
import { at, exec, exit, fork, makeLike, proc } from "./events.ts";

const ids = (t: ReturnType<typeof buildTrace>, idx: number[]) => idx.map((i) => t.processes[i]?.id);

test("parseTimeUs keeps microseconds that Date.parse would drop", () => {
  assert.is(parseTimeUs("2026-01-02T03:04:05.123456Z"), Date.parse("2026-01-02T03:04:05.123Z") * 1000 + 456);
  assert.is(parseTimeUs("2026-01-02T03:04:05Z"), Date.parse("2026-01-02T03:04:05Z") * 1000);
  assert.is(parseTimeUs("2026-01-02 03:04:05"), undefined);
  assert.is(at(1_234_567), "2026-01-02T03:04:06.234567Z");
});

test("parseNdjson: blank and metadata lines are skipped; a bad line is named by number", () => {
  const ok = parseNdjson(
    `\n{"schema":1}\n${JSON.stringify(exec(0, proc(5, 1, "sh"), ["sh"]))}\n`,
    "t.ndjson",
  );
  assert.is(ok.length, 1);
  for (const [text, want] of [
    ['{"event":"exec","time":"2026-01-02T03:04:05Z"}\n{"event":', /^t\.ndjson:2: not a JSON line/],
    ["[1,2]", /^t\.ndjson:1: expected a JSON object/],
    ['{"event":"exit","time":"yesterday"}', /^t\.ndjson:1: exit event has no valid "time"/],
  ] as const) {
    try {
      parseNdjson(text, "t.ndjson");
      assert.unreachable(`accepted ${text}`);
    } catch (e) {
      assert.instance(e, ReportInputError);
      assert.match((e as Error).message, want);
    }
  }
});

test("processes: fork start, exec boundaries, outcome of every kind", () => {
  const sh = proc(10, 1, "sh");
  const ok = proc(11, 10, "true", sh);
  const bad = proc(12, 10, "false", sh);
  const killed = proc(13, 10, "sleep", sh);
  const core = proc(14, 10, "crash", sh);
  const runs = proc(15, 10, "daemon", sh);
  const t = buildTrace([
    exec(0, sh, ["sh", "-c", "x"]),
    fork(10, sh, ok),
    exec(20, ok, ["env", "true"]),
    exec(30, ok, ["true"]),
    exit(40, ok),
    fork(50, sh, bad, false), // no child_exec_id: matched by pid and parent
    exit(60, bad, 1),
    fork(70, sh, killed),
    exit(80, killed, 0, 9),
    fork(90, sh, core),
    exit(100, core, 0, 11, true),
    fork(110, sh, runs),
    { ...fork(115, sh, runs), thread: true, child_exec_id: undefined } as never,
    exit(120, sh, 0),
  ]);
  const by = Object.fromEntries(t.processes.map((p) => [p.comm, p]));
  assert.is(t.processes.length, 6);
  assert.equal(
    t.processes.map((p) => p.outcome),
    ["ok", "ok", "fail", "signal", "core", "running"],
  );
  assert.is(by.true?.start, 10);
  assert.is(by.true?.startFrom, "fork");
  assert.equal(by.true?.execs, [20, 30]);
  assert.equal(by.true?.argv, ["true"]);
  assert.is(by.false?.start, 50, "fork without child_exec_id matched by pid + parent");
  assert.is(by.false?.exitCode, 1);
  assert.is(by.sleep?.signalName, "SIGKILL");
  assert.is(t.processes.find((p) => p.id === runs.id)?.end, null);
  assert.is(t.processes.find((p) => p.id === sh.id)?.threads, 1);
  for (const p of t.processes.slice(1)) assert.is(t.processes[p.parent]?.id, sh.id);
  // Identity is stored once; each event keeps what differs (and its time).
  const ev = by.true?.events[0] as Record<string, unknown>;
  assert.is(ev.event, "exec");
  assert.equal(ev.argv, ["env", "true"]);
  assert.is(ev.pid, undefined);
  assert.is(by.true?.ident.cgroup_id, 77);
  const sum = summarize(t);
  assert.equal(sum.outcomes, { ok: 2, fail: 1, signal: 1, core: 1, running: 1 });
  assert.equal(ids(t, sum.failed), [bad.id, killed.id, core.id]);
});

test("a process older than the trace starts at exit minus lifetime_ns; exits of threads are not processes", () => {
  const old = proc(20, 1, "cron");
  const t = buildTrace([
    exec(0, proc(21, 20, "x", old), ["x"]),
    { ...exit(500, old), thread: true },
    exit(5_000, old, 0, null, false, 3_000_000_000),
  ]);
  const cron = t.processes.find((p) => p.comm === "cron");
  assert.is(cron?.startFrom, "lifetime");
  assert.equal(cron?.argv, [], "no exec seen, no argv on this exit record");
  assert.is(cron?.start, 5_000 - 3_000_000);
  assert.is(t.processes.length, 2);
  assert.is(t.processes.find((p) => p.comm === "x")?.parent, t.processes.indexOf(cron!));
});

test("an exit record that repeats the image (newer streams) gives argv when the exec was not seen", () => {
  const old = proc(50, 1, "daemon");
  const t = buildTrace([
    { ...exit(900, old, 0, null, false, 5_000_000), argv: ["daemon", "-f"], filename: "/usr/sbin/daemon" },
  ]);
  assert.equal(t.processes[0]?.argv, ["daemon", "-f"]);
  assert.is(t.processes[0]?.filename, "/usr/sbin/daemon");
  // With the exec seen, its argv wins.
  const p = proc(51, 1, "sh");
  const t2 = buildTrace([exec(0, p, ["sh", "-c", "x"]), { ...exit(10, p), argv: ["other"] }]);
  assert.equal(t2.processes[0]?.argv, ["sh", "-c", "x"]);
});

test("parent loops in a hand-made file are broken, not followed forever", () => {
  const a = { ...proc(30, 31, "a"), parent: "31-1031" };
  const b = { ...proc(31, 30, "b"), parent: "30-1030" };
  const t = buildTrace([exec(0, a, ["a"]), exec(1, b, ["b"])]);
  const { order } = rowOrder(buildTree(t.processes));
  assert.is(order.length, 2);
  assert.ok(t.processes.some((p) => p.parent === -1));
});

test("critical path: make, the compile that finished last, the link and what it waited for", () => {
  const { events, make, b, link, ld } = makeLike();
  const t = buildTrace(events);
  const sum = summarize(t);
  assert.equal(ids(t, sum.critical), [make.id, b.id, link.id, ld.id]);
  assert.is(sum.criticalSpan, 122_000);
  assert.is(t.processes[sum.slowest[0]!]?.id, make.id);
  assert.is(t.processes[sum.slowest[1]!]?.id, b.id);
});

test("alerts and lost events are kept with their process and time", () => {
  const sh = proc(40, 1, "sh");
  const t = buildTrace([
    exec(0, sh, ["sh"]),
    {
      event: "alert",
      time: at(5),
      pid: 40,
      exec_id: sh.id,
      parent_exec_id: sh.parent,
      comm: "sh",
      rule: "reverse_shell",
      severity: "high",
      description: "d",
      reason: "r",
      filename: "/bin/sh",
    },
    { event: "lost", time: at(7), pid: 0, count: 12, kind: "exec" },
  ]);
  assert.is(t.alerts.length, 1);
  assert.is(t.alerts[0]?.proc, 0);
  assert.equal(t.processes[0]?.alerts, [0]);
  assert.equal(t.lost, [{ t: 7, count: 12, kind: "exec" }]);
  assert.equal(summarize(t).lostByKind, { exec: 12 });
});

test("scriptSafeJson: '</script>', '<!--' and U+2028 cannot end or bend the script element", () => {
  const nasty = ["</script><script>alert(1)</script>", "<!--", "a\u2028b\u2029c", "&amp;", "\udc80"];
  const s = scriptSafeJson({ argv: nasty });
  assert.not.match(s, /<|>|&|\u2028|\u2029/);
  assert.equal(JSON.parse(s), { argv: nasty });
});

test.run();
