import { test } from "uvu";
import * as assert from "uvu/assert";
import { useTracerJitPolicy } from "../../src/binary/jit-policy.ts";

test("the tracer's compiler setting: opt-out honoured, then applied once", () => {
  assert.is(useTracerJitPolicy({ TSBPF_TURBO_INLINING: "1" }), false, "opt-out leaves V8 as it is");
  assert.is(useTracerJitPolicy({}), true);
  // Once applied it stays (the flag is process-wide); a second call changes nothing.
  assert.is(useTracerJitPolicy({ TSBPF_TURBO_INLINING: "1" }), true);
  // Code optimized afterwards still runs correctly without inlining.
  const add = (a: number, b: number) => a + b;
  let s = 0;
  for (let i = 0; i < 200_000; i++) s = add(s, i & 7);
  assert.is(s, 700_000);
});

test.run();
