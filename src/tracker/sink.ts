// Where a trace's events go. A sink receives, in order, every event that passed the
// trace's filters (alerts right after the exec that raised them), a flush() after
// each batch, and end() once. The CLI's text/NDJSON writer is one; exporters
// (metrics, rotated files, message queues) plug in the same way.
import type { CommandResult } from "./command.ts";
import type { TraceEvent } from "./events.ts";
import type { ProcessTable } from "./process-table.ts";

/** What a sink learns when the trace ends. */
export interface TraceEnd {
  /** Every process the trace knew at the end (exited ones stay for the table's grace period). */
  table: ProcessTable;
  /** Wall-clock ms when the programs were attached. */
  startedAt: number;
  /** The traced command's pid, or the --pid root; undefined for the whole machine. */
  rootPid?: number;
  /** How the traced command ended, when the trace ran one. */
  command?: CommandResult;
}

/** Where a trace's events go: write() per event, flush() per batch, end() once. */
export interface TraceSink {
  /** One event that passed the filters. Must not keep `ev` past the call if it mutates it. */
  write(ev: TraceEvent): void;
  /** After each batch of events (one drain of the ring): a good point to write out buffers. */
  flush?(): void;
  /** Once, after the last event. */
  end?(end: TraceEnd): void | Promise<void>;
  /** True once the sink can take nothing more (its reader went away): the trace then stops. */
  readonly broken?: boolean;
}
