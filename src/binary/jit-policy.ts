// The V8 compiler setting the tracer runs with: TurboFan without inlining.
//
// Why: a tracer's per-event code is ~30 small functions (decode, the process table,
// the NDJSON writer's field helpers). The calls that matter are hot from the first
// event of a storm, so V8 optimizes each helper on its own first and then again
// inlined into each caller: the same bytecode compiled several times, on the cores
// the traced workload needs. Without inlining the tracer's CPU at the start of a storm
// falls, for a small steady-state cost per event since each helper is now a call
// (bench/jit-cost.ts --bin, bench/tracer-path.ts; figures in bench/README.md).
//
// V8 reads --turbo-inlining when it creates each compile job (on the main thread),
// so setting it before the first event changes every later compile (how it is set:
// v8-flag.ts).
import { runtimeV8Flag } from "./v8-flag.ts";

/**
 * Applies the tracer's compiler setting once per process (no-op while building the
 * snapshot). TSBPF_TURBO_INLINING=1 leaves V8 as it is, for measuring the setting
 * (bench/jit-cost.ts --bin NAME=dist/tsbpf,TSBPF_TURBO_INLINING=1).
 */
export const useTracerJitPolicy = runtimeV8Flag("--no-turbo-inlining", "TSBPF_TURBO_INLINING");
