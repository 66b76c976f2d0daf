// The kernel half of a trace session: loads the tracer object through the loader's
// collection API, attaches its programs, and owns every fd it created. Kept apart from
// source.ts so the session logic does not depend on the loader's object shapes.

import { TsbpfError } from "../errors.ts";
import type { EventReaderBase } from "../events/base.ts";
import type { WaiterMode } from "../events/waiter.ts";
import { loadCollection } from "../loader/collection.ts";
import type { OnStep } from "../loader/steps.ts";
import type { BpfMap } from "../maps/map.ts";
import { PerfReader } from "../perf/reader.ts";
import type { ConsumeLoopFactory } from "../ringbuf/consume-loop.ts";
import { RingBufReader } from "../ringbuf/reader.ts";
import type { CollectionSpec } from "../spec.ts";
import { progInfo } from "../sys/bpf.ts";
import { PAGE_SIZE } from "../sys/mm.ts";
import { BPF_MAP_TYPE } from "../uapi.ts";

/**
 * Data pages of each CPU's perf ring (process_perf.bpf.o): 1 MiB, so a burst of
 * maximal exec records (~64 KiB each) fits several times over; 2 CPUs x 1 MiB is
 * still well under the 8 MiB the ring-buffer object uses.
 */
export const PERF_PAGES_PER_CPU = 256;

/**
 * The ring buffer's default size, 2 MiB. The reader drains at least every 16 ms while
 * events flow (COALESCE_MAX_MS in source.ts), and the heaviest stream the tracer meets,
 * an exec storm with 6 KiB of argv per exec, fills 2 MiB in about a third of a second:
 * ample headroom for a drain that a busy CPU delays. Its pages are resident once
 * written, and the consumer maps the data area twice (wrap-around), so each MiB here is
 * 2 MiB of the tracer's RSS. The object's own max_entries is larger, for loaders that
 * do not choose.
 */
export const DEFAULT_RING_SIZE = 2 * 1024 * 1024;

export interface TracerLoadOptions {
  rodata: Record<string, number | bigint | boolean>;
  /** max_entries of the `scratch` map: one slot per possible CPU. */
  scratchEntries: number;
  btfPath?: string;
  /**
   * Bytes of the `events` buffer: the RINGBUF's max_entries (a map override; default
   * DEFAULT_RING_SIZE), or for a PERF_EVENT_ARRAY the data size of each CPU's perf ring.
   */
  ringSize?: number;
  /** How the reader blocks between drains (src/events/waiter.ts; the readers' default when absent). */
  waiter?: WaiterMode;
  /**
   * Reuse stored CO-RE results (src/loader/core-cache.ts; default true): a warm start
   * then neither reads nor parses vmlinux BTF. TSBPF_NO_CACHE=1 also turns it off.
   */
  coreCache?: boolean;
  /** Start-up phase marks (TSBPF_TIMING=1): BTF loaded, maps created, each program loaded. */
  onPhase?: (name: string) => void;
  /** The ring-buffer reader's record loop (RingBufReaderOptions.consumeLoop). */
  consumeLoop?: ConsumeLoopFactory;
}

/** The loader steps worth a phase mark; the rest (per relocation, per map) are too fine. */
function phaseMarks(onPhase: (name: string) => void): OnStep {
  return (s) => {
    if (s.step === "btf_loaded") onPhase(`BTF loaded (${s.size} bytes)`);
    else if (s.step === "map_created") onPhase(`map ${s.name} created`);
    else if (s.step === "prog_loaded") onPhase(`program ${s.program} loaded (${s.insns} insns)`);
  };
}

export interface BpfLoadedTracer {
  /** The `events` map's reader: a ring buffer, or per-CPU perf rings (process_perf.bpf.o). */
  reader: EventReaderBase;
  /** Which kind `events` is. */
  output: "ringbuf" | "perf";
  lostMap: BpfMap;
  rateLimitedMap: BpfMap;
  /** Adds a tgid to the descendant filter. */
  track(pid: number): void;
  /** Attaches every loaded program (call once). */
  attach(): void;
  /** Detaches every program; maps and the reader stay usable for draining. */
  detach(): void;
  /** Ring-buffer fill and each program's bpf_prog_info run time (for metrics). */
  stats(): TracerKernelStats;
  close(): void;
}

export interface TracerKernelStats {
  /** Bytes committed to the ring buffer and not yet read, and its size; absent for perf buffers. */
  ring?: { usedBytes: number; sizeBytes: number };
  /** run_time_ns and run_cnt of each loaded program (counted while kernel.bpf_stats_enabled = 1). */
  programs: { name: string; runTimeNs: bigint; runCount: bigint }[];
}

export async function loadTracer(spec: CollectionSpec, o: TracerLoadOptions): Promise<BpfLoadedTracer> {
  const ringbuf = spec.maps.some((m) => m.name === "events" && m.type === BPF_MAP_TYPE.RINGBUF);
  const coll = await loadCollection(spec, {
    rodata: o.rodata,
    maps: {
      scratch: { maxEntries: o.scratchEntries },
      // Maps that only code under a .rodata switch uses (dead code for the verifier when
      // it is off) get 1 entry instead of a preallocated LRU: `tracked` (65536 entries,
      // filter_descendants), `rate` (10240, rate_limit_per_sec) and `exec_args` (10240,
      // trace_failed_exec). Each LRU preallocates every element and its per-CPU lists
      // at BPF_MAP_CREATE, a few ms of start-up apiece.
      ...(o.rodata.filter_descendants ? {} : { tracked: { maxEntries: 1 } }),
      ...(o.rodata.rate_limit_per_sec ? {} : { rate: { maxEntries: 1 } }),
      ...(o.rodata.trace_failed_exec ? {} : { exec_args: { maxEntries: 1 } }),
      ...(ringbuf ? { events: { maxEntries: o.ringSize ?? DEFAULT_RING_SIZE } } : {}),
    },
    ...(o.btfPath !== undefined ? { btf: o.btfPath } : {}),
    coreCache: o.coreCache ?? true,
    ...(o.onPhase ? { onStep: phaseMarks(o.onPhase) } : {}),
  });
  // The load's kernel BTF cache went with it: the GC takes vmlinux's (~10 MB).
  const links: { close(): void }[] = [];
  let reader: EventReaderBase | undefined;
  const detach = () => {
    for (const l of links.splice(0)) {
      try {
        l.close();
      } catch {
        // Closing an fd we own cannot meaningfully fail; keep detaching the others.
      }
    }
  };
  const close = () => {
    detach();
    reader?.close();
    reader = undefined;
    coll.close();
  };
  try {
    const map = (name: string): BpfMap => {
      const m = coll.maps[name];
      if (!m) throw new TsbpfError(`${spec.path}: the tracer object has no map '${name}'`);
      return m;
    };
    const events = map("events");
    const tracked = map("tracked");
    const one = new Uint8Array([1]);
    // The object decides: process.bpf.o has a RINGBUF `events`, process_perf.bpf.o a
    // PERF_EVENT_ARRAY one (the loader sized it to the possible CPUs).
    const perf = events.spec.type === BPF_MAP_TYPE.PERF_EVENT_ARRAY;
    reader = perf
      ? new PerfReader(events, {
          pages: o.ringSize !== undefined ? Math.max(1, o.ringSize / PAGE_SIZE) : PERF_PAGES_PER_CPU,
          ...(o.waiter ? { waiter: o.waiter } : {}),
        })
      : new RingBufReader(events, {
          ...(o.waiter ? { waiter: o.waiter } : {}),
          ...(o.consumeLoop ? { consumeLoop: o.consumeLoop } : {}),
          // process.bpf.c builds every variable-length record in a `scratch` slot and
          // emits it from there; fixed records are far smaller. So no record is longer
          // than a slot, and the reader maps that much of the data's second copy instead
          // of all of it (2 MB less resident at the default ring size).
          maxRecordSize: map("scratch").spec.valueSize,
        });
    const r = reader;
    return {
      reader: r,
      output: perf ? "perf" : "ringbuf",
      lostMap: map("lost"),
      rateLimitedMap: map("rate_limited"),
      track: (pid) => tracked.update(pid, one),
      attach: () => {
        try {
          for (const p of spec.programs) {
            const prog = coll.programs[p.name];
            if (prog) links.push(prog.attach());
          }
        } catch (e) {
          detach();
          throw e;
        }
      },
      detach,
      stats: () => {
        const programs: TracerKernelStats["programs"] = [];
        for (const p of spec.programs) {
          const prog = coll.programs[p.name];
          if (!prog) continue;
          const info = progInfo(prog.fd);
          programs.push({ name: p.name, runTimeNs: info.run_time_ns, runCount: info.run_cnt });
        }
        const ring =
          r instanceof RingBufReader && !r.isClosed
            ? { usedBytes: r.available(), sizeBytes: r.size }
            : undefined;
        return ring ? { ring, programs } : { programs };
      },
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}
