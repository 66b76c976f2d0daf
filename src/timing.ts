// TSBPF_TIMING=1: where the time of a start goes (`tsbpf trace` start-up, and the
// static CO-RE path of `tsbpf explain`, which bench/core.ts reads). Each phase prints one line
// on stderr, "tsbpf: timing: <ms> <phase>", ms since Node's process start
// (performance.timeOrigin; the execve and the mapping of the binary come a few ms
// before it and are not counted). The first line also gives Node's own milestones
// (performance.nodeTiming): when V8 started, when Node's bootstrap finished, so the
// time spent before our code runs is visible too (firstPhase).
// Node's global `performance`, read only when TIMING is on: importing node:perf_hooks
// costs start-up time even when nothing is printed.

// The environment is read at each call, never kept: the single binary's modules are
// evaluated when its start-up snapshot is built, where the environment is the build's.

/** True when TSBPF_TIMING=1. */
export function timingOn(): boolean {
  return process.env.TSBPF_TIMING === "1";
}

function ms(v: number): string {
  return v.toFixed(1).padStart(7);
}

/** Prints one phase line when TSBPF_TIMING=1. */
export function phase(name: string): void {
  if (!timingOn()) return;
  process.stderr.write(`tsbpf: timing: ${ms(performance.now())} ms  ${name}\n`);
}

/** The first phase line of a process, after Node's own milestones (V8 start, bootstrap). */
export function firstPhase(name: string): void {
  if (!timingOn()) return;
  const n = performance.nodeTiming;
  process.stderr.write(
    `tsbpf: timing: ${ms(n.v8Start)} ms  node: V8 started\n` +
      `tsbpf: timing: ${ms(n.bootstrapComplete)} ms  node: bootstrap complete\n`,
  );
  phase(name);
}
