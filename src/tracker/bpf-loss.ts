// Turns the tracer's per-CPU loss counters into `lost` events. process.bpf.c counts
// every record it could not write (`lost`: ring buffer full or no scratch slot) and
// every record its rate limiter dropped (`rate_limited`), indexed by event type
// (docs/events-wire.md "Counters"). Each poll reports the deltas since the last one.
import type { BpfMap } from "../maps/map.ts";
import { LossCounter } from "../ringbuf/loss.ts";
import { EV } from "./bpf-decode.ts";
import { lostEvent } from "./build.ts";
import type { LostEvent } from "./events.ts";

/** Kernel event type → the `kind` users see: thread records count with their event. */
const KINDS: [number, string][] = [
  [EV.FORK, "fork"],
  [EV.THREAD, "fork"],
  [EV.EXEC, "exec"],
  [EV.EXEC_FAILED, "exec_failed"],
  [EV.EXIT, "exit"],
  [EV.THREAD_EXIT, "exit"],
];

/** `kind` of records a full perf ring dropped (PERF_RECORD_LOST carries no event type). */
export const PERF_BUFFER_KIND = "perf_buffer";

export class LossPoller {
  private readonly counters: { kind: string; c: LossCounter }[] = [];
  /** Cumulative totals per kind, for the summary. */
  readonly totals = new Map<string, number>();

  private readerLast = 0;

  /**
   * `readerLost`: records the output buffer itself dropped, cumulative (the perf
   * reader's PERF_RECORD_LOST total). The kernel does not say which type they had,
   * so they are reported with kind PERF_BUFFER_KIND.
   */
  constructor(
    lost: BpfMap,
    rateLimited: BpfMap,
    private readonly readerLost?: () => number,
  ) {
    for (const [type, kind] of KINDS) {
      this.counters.push({ kind, c: new LossCounter(lost, type) });
      this.counters.push({ kind: `ratelimit:${kind}`, c: new LossCounter(rateLimited, type) });
    }
  }

  /** `lost` events for everything dropped since the previous poll, one per kind. */
  poll(now: Date = new Date()): LostEvent[] {
    const deltas = new Map<string, number>();
    for (const { kind, c } of this.counters) {
      const d = c.delta();
      if (d > 0) deltas.set(kind, (deltas.get(kind) ?? 0) + d);
    }
    if (this.readerLost) {
      const total = this.readerLost();
      if (total > this.readerLast) deltas.set(PERF_BUFFER_KIND, total - this.readerLast);
      this.readerLast = total;
    }
    if (deltas.size === 0) return [];
    const time = now.toISOString().replace(/Z$/, "000Z");
    const out: LostEvent[] = [];
    for (const [kind, n] of deltas) {
      this.totals.set(kind, (this.totals.get(kind) ?? 0) + n);
      out.push(lostEvent(time, n, kind));
    }
    return out;
  }
}
