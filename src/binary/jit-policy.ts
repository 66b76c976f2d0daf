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
// so setting it before the first event changes every later compile. It is never set
// while Node builds the single binary's start-up snapshot: a flag that differs from
// the build's would make the binary reject its own snapshot (V8 checks a hash of the
// flags when it deserializes one).
import { setFlagsFromString, startupSnapshot } from "node:v8";

let applied = false;

/** Applies the tracer's compiler setting once per process (no-op while building the snapshot). */
export function useTracerJitPolicy(env: NodeJS.ProcessEnv = process.env): boolean {
  if (applied) return true;
  if (startupSnapshot.isBuildingSnapshot()) return false;
  // An escape hatch for measuring the setting itself
  // (bench/jit-cost.ts --bin NAME=dist/tsbpf,TSBPF_TURBO_INLINING=1).
  if (env.TSBPF_TURBO_INLINING === "1") return false;
  setFlagsFromString("--no-turbo-inlining");
  applied = true;
  return true;
}
