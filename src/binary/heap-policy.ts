// The V8 heap setting the tracer runs with: a young generation that does not grow.
//
// Why: V8 starts the young generation at two 1 MiB semi-spaces and doubles them
// (up to 16 MiB each on x64) whenever a scavenge finds many survivors. A fork storm
// makes that happen: each event's objects live for one drain, and the process table's
// entries for a process's lifetime, so after a storm the tracer kept ~4.5 MB more
// anonymous memory than before it, for good (V8 does not shrink the semi-spaces back
// without a memory-pressure signal Node never sends). The tracer's per-drain garbage
// fits in 1 MiB: with the growth factor at 1, scavenges come more often but each stays
// small, and the storms' rates did not move (bench:memory, bench/README.md "Memory").
//
// V8 reads --semi-space-growth-factor each time it considers growing the new space,
// so setting it at run time, before the first event, is enough (how: v8-flag.ts).
import { runtimeV8Flag } from "./v8-flag.ts";

/**
 * Applies the tracer's heap setting once per process (no-op while building the
 * snapshot). TSBPF_SEMI_SPACE_GROWTH=1 leaves V8 as it is (bench:memory with --baseline).
 */
export const useTracerHeapPolicy = runtimeV8Flag("--semi-space-growth-factor=1", "TSBPF_SEMI_SPACE_GROWTH");
