// The perf-buffer fallback of `tsbpf trace`: bpf/process_perf.bpf.o (the same programs
// writing through bpf_perf_event_output into a PERF_EVENT_ARRAY) is what the tracer
// loads without ring buffers; TSBPF_FORCE_PERF=1 selects it here, on a kernel that has them.
import { readdirSync, readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { BpfMap } from "../../src/maps/map.ts";
import { LossPoller, PERF_BUFFER_KIND } from "../../src/tracker/bpf-loss.ts";
import { PERF_OBJECT, RINGBUF_OBJECT, tracerObject } from "../../src/tracker/source.ts";
import { BPF_MAP_TYPE } from "../../src/uapi.ts";
import { privileged } from "../helpers/env.ts";
import { type Ev, ndjson, RunningTrace, run, show, tsbpf } from "./helpers.ts";

const ok = privileged("tsbpf trace perf-buffer fallback");
const PERF = { TSBPF_FORCE_PERF: "1" };

/** The fields of an event that do not depend on the run (pids, times, ids). */
function shape(e: Ev): Ev {
  const {
    time: _t,
    pid: _p,
    tid: _i,
    ppid: _pp,
    exec_id: _x,
    parent_exec_id: _px,
    lifetime_ns: _l,
    ns_pid: _n,
    ...rest
  } = e;
  return rest;
}

test("tracerObject: TSBPF_FORCE_PERF=1 picks process_perf.bpf.o", () => {
  assert.is(tracerObject({ TSBPF_FORCE_PERF: "1" }), PERF_OBJECT);
  // This kernel (6.18) has ring buffers.
  if (ok) assert.is(tracerObject({}), RINGBUF_OBJECT);
});

test("TSBPF_FORCE_PERF=1 trace --json -- /bin/echo hi: same exec/exit events as the ring buffer", () => {
  if (!ok) return;
  const ring = tsbpf(["trace", "--json", "--", "/bin/echo", "hi"]);
  const perf = tsbpf(["trace", "--json", "--", "/bin/echo", "hi"], { env: PERF });
  assert.is(ring.status, 0, show(ring));
  assert.is(perf.status, 0, show(perf));
  const pick = (out: string) =>
    ndjson(out)
      .filter((e) => e.event === "exec" || e.event === "exit")
      .map(shape);
  const r = pick(ring.stdout);
  const p = pick(perf.stdout);
  assert.is(p.length, 2, show(perf));
  assert.equal(p, r);
  assert.equal(p[0]?.argv, ["/bin/echo", "hi"]);
  assert.is(p[1]?.exit_code, 0);
});

/** BPF map types (fdinfo map_type) held open by a process. */
function mapTypes(pid: number): number[] {
  const out: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^map_type:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
      if (m) out.push(Number(m[1]));
    } catch {
      // fd closed meanwhile
    }
  }
  return out;
}

test("forced perf: the session reads a perf_event_array, holds no ring buffer, and sees system-wide execs", async () => {
  if (!ok) return;
  const prev = process.env.TSBPF_FORCE_PERF;
  process.env.TSBPF_FORCE_PERF = "1";
  let t: RunningTrace;
  try {
    t = new RunningTrace(["trace", "--json"]);
  } finally {
    if (prev === undefined) delete process.env.TSBPF_FORCE_PERF;
    else process.env.TSBPF_FORCE_PERF = prev;
  }
  try {
    await t.waitFor(
      (o) => o.includes("perf-fallback-mark"),
      () => run("/bin/echo", ["perf-fallback-mark"]),
    );
    const types = mapTypes(t.child.pid as number);
    assert.ok(types.includes(BPF_MAP_TYPE.PERF_EVENT_ARRAY), `map types ${types}`);
    assert.ok(!types.includes(BPF_MAP_TYPE.RINGBUF), `map types ${types}`);
  } finally {
    await t.stop();
  }
  const ex = ndjson(t.stdout).find((e) => e.event === "exec" && e.argv?.[1] === "perf-fallback-mark");
  assert.ok(ex, t.stdout.slice(-2000));
  assert.is(ex?.filename, "/bin/echo");
});

test("forced perf: a maximal exec record (32 KiB argv + env) fits a perf sample, cut and flagged", () => {
  if (!ok) return;
  const big = "a".repeat(40_000);
  const r = tsbpf(
    ["trace", "--json", "--env", "--arg-bytes", "32768", "--", "env", `BIG=${big}`, "/bin/echo", big],
    { env: PERF },
  );
  assert.is(r.status, 0, show({ ...r, stdout: r.stdout.slice(0, 2000) }));
  const e = ndjson(r.stdout).find((x) => x.event === "exec" && x.filename === "/bin/echo");
  assert.ok(e, r.stderr);
  assert.is(e?.argv_truncated, true);
  assert.is(e?.argc, 2);
  assert.is(e?.argv[0], "/bin/echo");
  // argv got its full budget; the env got what is left of the 64 KiB sample.
  assert.ok(((e?.argv ?? []) as string[]).join("\0").length >= 32_000, "argv kept 32 KiB");
  assert.ok(Array.isArray(e?.env) && e.env.length >= 1, JSON.stringify(e?.env)?.slice(0, 200));
  const lost = ndjson(r.stdout).filter((x) => x.event === "lost");
  assert.is(lost.length, 0, JSON.stringify(lost));
});

/** A PERCPU_ARRAY of u64 counters, all zero (the fake stands in for the kernel map). */
function zeroCounters(name: string): BpfMap {
  return {
    spec: { name, type: BPF_MAP_TYPE.PERCPU_ARRAY, typeName: "percpu_array", valueSize: 8 },
    lookup: () => [0n, 0n],
  } as unknown as BpfMap;
}

test("LossPoller: PERF_RECORD_LOST totals become `lost` events (deltas, kind perf_buffer)", () => {
  let total = 0;
  const p = new LossPoller(zeroCounters("lost"), zeroCounters("rate_limited"), () => total);
  assert.equal(p.poll(), []);
  total = 5;
  const first = p.poll();
  assert.is(first.length, 1);
  assert.is(first[0]?.event, "lost");
  assert.is(first[0]?.kind, PERF_BUFFER_KIND);
  assert.is(first[0]?.count, 5);
  assert.equal(p.poll(), []);
  total = 12;
  assert.is(p.poll()[0]?.count, 7);
  assert.is(p.totals.get(PERF_BUFFER_KIND), 12);
});

test.run();
