// TSBPF_TIMING=1: where the time of a start goes (`tsbpf trace` start-up, and the
// static CO-RE path of `tsbpf explain`, which bench/core.ts reads). Each phase prints one line
// on stderr, "tsbpf: timing: <ms> <phase>", ms since Node's process start
// (performance.timeOrigin; the execve and the mapping of the binary come a few ms
// before it and are not counted). The first line also gives Node's own milestones
// (performance.nodeTiming): when V8 started, when Node's bootstrap finished, so the
// time spent before our code runs is visible too. Off, phase() costs one branch.
// Node's global `performance`, read only when TIMING is on: importing node:perf_hooks
// costs ~1 ms of start-up even when nothing is printed.

// Read on first use, not at module load: the single binary's modules are evaluated when
// its start-up snapshot is built, where the environment is the build's, not the user's.
let on: boolean | undefined;

/** True when TSBPF_TIMING=1 (read once, at the first call). */
export function timingOn(): boolean {
  if (on === undefined) on = process.env.TSBPF_TIMING === "1";
  return on;
}

let first = true;

/**
 * Forgets the setting read from the environment and the first-line state: the single
 * binary's build runs code that marks phases (src/snapshot-warmup.ts), and what the
 * build's environment said must not be frozen into the snapshot.
 */
export function forgetTimingSetting(): void {
  on = undefined;
  first = true;
}

function ms(v: number): string {
  return v.toFixed(1).padStart(7);
}

/** Prints one phase line when TSBPF_TIMING=1. */
export function phase(name: string): void {
  if (!(on ?? timingOn())) return;
  if (first) {
    first = false;
    const n = performance.nodeTiming;
    process.stderr.write(
      `tsbpf: timing: ${ms(n.v8Start)} ms  node: V8 started\n` +
        `tsbpf: timing: ${ms(n.bootstrapComplete)} ms  node: bootstrap complete\n`,
    );
  }
  process.stderr.write(`tsbpf: timing: ${ms(performance.now())} ms  ${name}\n`);
}
