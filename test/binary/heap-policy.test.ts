import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { useTracerHeapPolicy } from "../../src/binary/heap-policy.ts";
import { ROOT_DIR } from "../helpers/env.ts";

// A fresh Node applies the policy (or not) first thing, then allocates like a storm:
// objects that survive a scavenge or two. Prints the new space's size (bytes) at the
// start and at the end.
const CHILD = `
import { getHeapSpaceStatistics } from "node:v8";
import { useTracerHeapPolicy } from "./src/binary/heap-policy.ts";
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
const start = newSpace();
useTracerHeapPolicy(process.env);
let keep = [];
for (let i = 0; i < 400_000; i++) {
  keep.push({ pid: i, comm: "x" + i, argv: [String(i)] });
  if (keep.length > 20_000) keep = [];
}
console.log(JSON.stringify({ start, end: newSpace() }));
`;

function run(env: Record<string, string>): { start: number; end: number } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], {
    cwd: ROOT_DIR,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string);
}

test("the tracer's heap setting keeps the young generation from growing under a storm of survivors", () => {
  const kept = run({});
  const grown = run({ TSBPF_SEMI_SPACE_GROWTH: "1" });
  assert.ok(kept.end <= kept.start, `new space grew from ${kept.start} to ${kept.end} bytes`);
  // Without it V8 grows the semi-spaces under the same load (the setting is what holds it).
  assert.ok(grown.end > grown.start, `without the setting: ${grown.start} → ${grown.end} bytes`);
});

test("opt-out honoured, then applied once", () => {
  assert.is(useTracerHeapPolicy({ TSBPF_SEMI_SPACE_GROWTH: "1" }), false);
  assert.is(useTracerHeapPolicy({}), true);
  assert.is(useTracerHeapPolicy({ TSBPF_SEMI_SPACE_GROWTH: "1" }), true);
});

test.run();
