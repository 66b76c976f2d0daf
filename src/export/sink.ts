// What an exporter is to the trace: it takes each event that passed the filters
// (through TraceExports.sink(), a TraceSink of src/tracker/sink.ts), and an event it
// cannot keep is counted, and reported by the trace as a `lost` event (kind
// "export:<type>") in its own output and to every exporter.
import type { LostEvent, TraceEvent } from "../tracker/events.ts";

export interface EventSink {
  /** One event, in output order (an alert right after the exec that raised it). Never throws for a delivery problem. */
  write(ev: TraceEvent): void;
  /** `lost` events for what the sink had to drop since the previous call. */
  takeLost(now: Date): LostEvent[];
  /**
   * Stops accepting events, waits (within the sink's own bound) for what is queued to
   * be delivered or stored, then releases everything.
   */
  close(): Promise<void>;
}

/** Per-type counts of dropped events, turned into `lost` events (kind "<prefix>:<type>"). */
export class DropCounter {
  private readonly pending = new Map<string, number>();
  total = 0;

  constructor(private readonly prefix: string) {}

  drop(type: string, n = 1): void {
    this.pending.set(type, (this.pending.get(type) ?? 0) + n);
    this.total += n;
  }

  take(now: Date, make: (time: string, count: number, kind: string) => LostEvent): LostEvent[] {
    if (this.pending.size === 0) return [];
    // The same µs-precision time format as the kernel-side lost events.
    const time = now.toISOString().replace(/Z$/, "000Z");
    const out = [...this.pending].map(([type, n]) => make(time, n, `${this.prefix}:${type}`));
    this.pending.clear();
    return out;
  }
}
