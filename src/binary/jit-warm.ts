// Runs the tracer's per-event code (process table, NDJSON writer, comm decoding) on a
// few synthetic events before the real ones, on a throwaway table and buffer.
//
// Why: V8 records type feedback for a function only after it has run a while (lazy
// feedback allocation), and TurboFan turns every path without feedback into a deopt.
// A path the trace takes rarely, or only in its first events (the first exec, a first
// child, an exit by a signal, a new process name), then reached the optimized code in
// the middle of a fork storm with no feedback: the function deoptimized and was
// compiled again, on a core the traced workload needs (bench/jit-cost.ts counts them). The events here are built by the same constructors
// as real ones (src/tracker/build.ts), with the same fields present, so they teach V8 the shapes
// real events have and no other.

import { warmCommDecoding } from "../tracker/bpf-decode.ts";
import { execEvent, exitEvent, forkEvent, type RawTask } from "../tracker/build.ts";
import type { TraceEvent } from "../tracker/events.ts";
import { JsonEventWriter } from "../tracker/json-bytes.ts";
import { ProcessTable } from "../tracker/process-table.ts";
import type { DrainWarmUp } from "../tracker/source.ts";

const ARGV = new TextEncoder().encode("/bin/true\0warm\0");
const FILENAME = new TextEncoder().encode("/bin/true");

function task(tgid: number, ppid: number, start: number, ns: boolean): RawTask {
  return {
    time: "2000-01-01T00:00:00.000001Z",
    tgid,
    tid: tgid,
    ppid,
    uid: 0,
    gid: 0,
    comm: "warm",
    startBoottimeNs: start,
    parentStartBoottimeNs: 1e9,
    execId: undefined,
    parentExecId: undefined,
    cgroupId: 1,
    // Like bpf-decode.ts: a process fork's event has no namespace fields.
    pidnsInode: ns ? 4026531836 : undefined,
    nsPid: ns ? tgid : undefined,
  };
}

/** Rounds to run, one per turn of events() (see EventPathWarmUp.round). */
export const WARM_ROUNDS = 24;

/** The warm-up's own table, buffer and writer: nothing of it touches the real ones. */
export class EventPathWarmUp {
  private table: ProcessTable | undefined;
  private out: Buffer | undefined;
  private readonly json = new JsonEventWriter();

  /**
   * Round `i` of the warm-up: a fork, an exec and an exit (by a signal in odd rounds)
   * on the throwaway table, each written as NDJSON into a scratch buffer. A round is
   * short, so the drain loop runs one per turn from its second turn on: the first
   * events are never held up, and all rounds are done within the first 24 turns.
   */
  round(i: number): void {
    this.table ??= new ProcessTable({ graceMs: 0 });
    this.out ??= Buffer.allocUnsafe(4096);
    const table = this.table;
    const out = this.out;
    const parent = 100;
    const child = 1000 + i;
    const start = 2e9 + i * 1e7;
    const evs: TraceEvent[] = [
      forkEvent(task(parent, 1, 1e9, false), {
        childPid: child,
        childTid: child,
        thread: false,
        childStartBoottimeNs: start,
      }),
      execEvent(task(child, parent, start, true), {
        filename: FILENAME,
        argvBytes: ARGV,
        argc: 2,
        argvTruncated: false,
        oldPid: child,
      }),
      exitEvent(task(child, parent, start, true), {
        status: i % 2 === 0 ? 0 : 9,
        lifetimeNs: 1e6,
        thread: false,
      }),
    ];
    for (const ev of evs) {
      table.apply(ev);
      this.json.write(out, 0, out.length - 1, ev);
    }
    // graceMs 0: every exited child goes, through the same path as a real prune.
    table.prune(Date.now() + 1000);
    warmCommDecoding();
    if (i === WARM_ROUNDS - 1) {
      this.table = undefined;
      this.out = undefined;
    }
  }
}

/**
 * The tracer session's DrainWarmUp: each round runs the decoder's own synthetic records
 * (RecordDecoder.warm) and then an EventPathWarmUp round.
 */
export function tracerWarmUp(): DrainWarmUp {
  const events = new EventPathWarmUp();
  return {
    rounds: WARM_ROUNDS,
    round(i, decoder) {
      decoder.warm(i);
      events.round(i);
    },
  };
}
