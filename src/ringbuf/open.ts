// openEventReader: the ring buffer when the kernel has BPF_MAP_TYPE_RINGBUF (5.8+), else
// the per-CPU perf-event-array fallback. Both readers share one API (EventReaderBase):
// records(), onBatch(), drain()/consume(), poll(), lost(), close().

import { type EventReaderBase, RingBufError } from "../events/base.ts";
import type { BpfMap } from "../maps/map.ts";
import { PerfReader, type PerfReaderOptions } from "../perf/reader.ts";
import { FeatureProbes } from "../sys/features.ts";
import type { LossCounter } from "./loss.ts";
import { RingBufReader } from "./reader.ts";

/** Options of openEventReader(). */
export interface OpenEventReaderOptions {
  /** The object's BPF_MAP_TYPE_RINGBUF map (used when the kernel supports it). */
  ringbuf?: BpfMap;
  /** The object's BPF_MAP_TYPE_PERF_EVENT_ARRAY map (the fallback). */
  perf?: BpfMap;
  /** Producer-side loss counter for the ring buffer (the perf reader counts PERF_RECORD_LOST). */
  loss?: LossCounter;
  perfOptions?: PerfReaderOptions;
  /** Force a kind (tests); default: probe the kernel. */
  prefer?: "ringbuf" | "perf";
  /** Where the ring-buffer probe is answered and kept (default: a fresh set). */
  features?: FeatureProbes;
}

/** A RingBufReader when the kernel has ring buffers (5.8+), else a PerfReader over the fallback map. */
export function openEventReader(opts: OpenEventReaderOptions): EventReaderBase {
  const useRing = opts.prefer
    ? opts.prefer === "ringbuf"
    : (opts.features ?? new FeatureProbes()).has("ringbuf");
  if (useRing && opts.ringbuf) return new RingBufReader(opts.ringbuf, { loss: opts.loss });
  if (opts.perf) return new PerfReader(opts.perf, opts.perfOptions);
  if (opts.ringbuf) {
    throw new RingBufError(
      "this kernel has no BPF_MAP_TYPE_RINGBUF (Linux < 5.8) and no perf_event_array map was given as a fallback",
    );
  }
  throw new RingBufError("openEventReader: pass a ringbuf map, a perf_event_array map, or both");
}
