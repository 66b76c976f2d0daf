// Checks a Chrome Trace Event JSON document the way a viewer relies on it: the object
// format with a traceEvents array; known phases with their required fields; every
// process with a name and one "process" slice; complete slices on one thread properly
// nested; a fork flow for every child whose fork was seen, from the parent's track,
// at a time inside the parent's life; timestamps ≥ 0. Returns problems as strings.
import * as assert from "uvu/assert";

type Ev = Record<string, unknown>;

export interface CheckedTrace {
  /** pid → its "process" slice */
  process: Map<number, Ev>;
  /** child pid → parent pid, from the fork flows */
  parentOf: Map<number, number>;
}

export function checkTraceEvents(doc: unknown): CheckedTrace {
  assert.type(doc, "object");
  const events = (doc as { traceEvents?: unknown }).traceEvents;
  assert.ok(Array.isArray(events), "traceEvents is an array");
  const names = new Map<number, string>();
  const process = new Map<number, Ev>();
  const slices = new Map<string, Ev[]>();
  const flowStart = new Map<number, Ev>();
  const flowEnd = new Map<number, Ev>();
  for (const e of events as Ev[]) {
    assert.ok(["M", "X", "i", "s", "f"].includes(e.ph as string), `known phase: ${JSON.stringify(e)}`);
    assert.type(e.pid, "number");
    assert.type(e.tid, "number");
    assert.type(e.name, "string");
    if (e.ph === "M") {
      if (e.name === "process_name") names.set(e.pid as number, (e.args as { name: string }).name);
      continue;
    }
    assert.type(e.ts, "number");
    assert.ok((e.ts as number) >= 0, `ts >= 0: ${JSON.stringify(e)}`);
    if (e.ph === "X") {
      assert.type(e.dur, "number");
      assert.ok((e.dur as number) >= 0, "dur >= 0");
      const k = `${e.pid}/${e.tid}`;
      slices.set(k, [...(slices.get(k) ?? []), e]);
      if (e.cat === "process") {
        assert.not.ok(process.has(e.pid as number), `one process slice for pid ${e.pid}`);
        process.set(e.pid as number, e);
      }
    } else if (e.ph === "i") {
      assert.ok(["t", "p", "g"].includes(e.s as string), "instant scope");
    } else if (e.ph === "s") flowStart.set(e.id as number, e);
    else if (e.ph === "f") {
      assert.is(e.bp, "e", "flow end binds to the enclosing slice");
      flowEnd.set(e.id as number, e);
    }
  }
  for (const pid of process.keys()) assert.ok(names.has(pid), `process ${pid} has a process_name`);
  for (const pid of names.keys()) assert.ok(process.has(pid), `named track ${pid} has a process slice`);
  // Nesting: on one thread, any two complete slices are disjoint or one contains the other.
  const eps = 0.002;
  for (const [k, list] of slices) {
    const sorted = [...list].sort(
      (a, b) => (a.ts as number) - (b.ts as number) || (b.dur as number) - (a.dur as number),
    );
    const open: Ev[] = [];
    for (const e of sorted) {
      const ts = e.ts as number;
      while (open.length && ts >= (open.at(-1)!.ts as number) + (open.at(-1)!.dur as number) - eps)
        open.pop();
      const top = open.at(-1);
      if (top) {
        const topEnd = (top.ts as number) + (top.dur as number);
        assert.ok(
          ts + (e.dur as number) <= topEnd + eps,
          `slices on ${k} nest: ${e.name} inside ${top.name}`,
        );
      }
      open.push(e);
    }
    const proc = list.find((e) => e.cat === "process");
    assert.ok(proc, `thread ${k} has its process slice`);
    for (const e of list) {
      assert.ok(
        (e.ts as number) >= (proc!.ts as number) - eps &&
          (e.ts as number) + (e.dur as number) <= (proc!.ts as number) + (proc!.dur as number) + eps,
        `${e.name} lies within the process slice on ${k}`,
      );
    }
  }
  const parentOf = new Map<number, number>();
  for (const [id, f] of flowEnd) {
    const s = flowStart.get(id);
    assert.ok(s, `flow ${id} has a start`);
    const child = process.get(f.pid as number);
    const parent = process.get(s!.pid as number);
    assert.ok(child && parent, `flow ${id} joins two process tracks`);
    assert.is(f.ts, child!.ts, "the fork flow ends where the child's slice starts");
    assert.ok(
      (s!.ts as number) >= (parent!.ts as number) - eps &&
        (s!.ts as number) <= (parent!.ts as number) + (parent!.dur as number) + eps,
      `fork of ${f.pid} lies within its parent ${s!.pid}'s life`,
    );
    parentOf.set(f.pid as number, s!.pid as number);
  }
  assert.is(flowStart.size, flowEnd.size, "every flow has both ends");
  return { process, parentOf };
}
