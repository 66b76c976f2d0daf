// The V8 compiler setting the tracer runs with: TurboFan without inlining.
//
// Why: a tracer's per-event code is ~30 small functions (decode, the process table,
// the NDJSON writer's field helpers). The calls that matter are hot from the first
// event of a storm, so V8 optimizes each helper on its own first and then again
// inlined into each caller: the same bytecode compiled several times, on the cores
// the traced workload needs. Measured with dist/tsbpf on a 2 s fork storm started
// right after the tracer (5 interleaved runs; bench/jit-cost.ts --bin prints the same
// split): tracer CPU in the storm's first 0.5 s fell from 160-220 ms to 150-170 ms,
// and the rest of the storm was unchanged. The cost is in the steady state of the
// pure pipeline (bench/tracer-path.ts, no kernel): 4.3 → 4.5-4.7 µs per event,
// because each helper is now a call; that is below this machine's noise in a real
// storm.
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
