// Perf-event-array reader: the fallback for kernels without BPF_MAP_TYPE_RINGBUF (< 5.8).
// BPF programs write with bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, data, size)
// into the perf ring of the CPU they run on, so we open one PERF_COUNT_SW_BPF_OUTPUT
// event per CPU, mmap its ring and store its fd in the map at index cpu.
//
// Ring protocol (include/uapi/linux/perf_event.h, struct perf_event_mmap_page):
//  - the first page is the control page; data_head (u64 @1024) is written by the kernel
//    and read with acquire semantics, data_tail (u64 @1032) is written by us with a
//    release store once the records before it are consumed; data_offset/data_size
//    (@1040/@1048) locate the data area (1 page in / 2^n pages long on older kernels).
//  - records are struct perf_event_header { u32 type; u16 misc; u16 size } + body, 8-byte
//    aligned. PERF_RECORD_SAMPLE with sample_type = PERF_SAMPLE_RAW: u32 size + raw bytes
//    (the kernel pads the raw bytes so size + 4 is a multiple of 8). PERF_RECORD_LOST:
//    u64 id, u64 lost = samples dropped because the ring was full.
//  - a record may wrap the end of the data area (perf has no double mapping): we copy it
//    into a fresh buffer (rare: at most once per lap).

import { EventReaderBase, type RawCallback, RingBufError } from "../events/base.ts";
import { Waiter, type WaiterMode } from "../events/waiter.ts";
import type { BpfMap } from "../maps/map.ts";
import { possibleCpus } from "../sys/cpus.ts";
import { SyscallError } from "../sys/errors.ts";
import { MAP_SHARED, mmap, munmap, PAGE_SIZE, PROT_READ, PROT_WRITE, view } from "../sys/mm.ts";
import {
  ioctl,
  PERF_COUNT_SW_BPF_OUTPUT,
  PERF_EVENT_IOC_ENABLE,
  PERF_FORMAT_LOST,
  PERF_SAMPLE_RAW,
  PERF_TYPE_SOFTWARE,
  perfEventOpen,
  perfReadLost,
} from "../sys/perf.ts";
import { sys } from "../sys/syscalls.ts";
import { perf_event_mmap_page } from "../uapi.gen.ts";
import { BPF_MAP_TYPE, PERF_RECORD_LOST, PERF_RECORD_SAMPLE } from "../uapi.ts";

/** enum perf_event_type (generated from BTF). */
export { PERF_RECORD_LOST, PERF_RECORD_SAMPLE };

/** struct perf_event_mmap_page's control fields (generated from BTF). */
const DATA_HEAD = perf_event_mmap_page.data_head[0];
const DATA_TAIL = perf_event_mmap_page.data_tail[0];
const DATA_OFFSET = perf_event_mmap_page.data_offset[0];
const DATA_SIZE = perf_event_mmap_page.data_size[0];

/** Options of new PerfReader(). */
export interface PerfReaderOptions {
  /** Data pages per CPU ring: a power of two (default 16 = 64 KiB). */
  pages?: number;
  /** Wake the reader after this many bytes instead of on every sample (wakeup_watermark). */
  watermark?: number;
  /** CPUs to open (default: every possible CPU that is online). */
  cpus?: number[];
  /** How wait() blocks: "worker" thread (default) or "async" on libuv's pool (see waiter.ts). */
  waiter?: WaiterMode;
}

interface CpuRing {
  cpu: number;
  fd: number;
  addr: bigint;
  len: number;
  head64: BigUint64Array;
  tail64: BigUint64Array;
  data: DataView;
  dataOff: number;
  dataSize: number;
  tail: number;
}

/** Reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY map: one perf ring per CPU (the fallback for kernels without ring buffers). */
export class PerfReader extends EventReaderBase {
  readonly map: BpfMap;
  protected readonly waiter: Waiter;
  private readonly rings: CpuRing[] = [];
  private lostCount = 0;
  /**
   * The kernel counts each ring's drops where read(2) reports them (PERF_FORMAT_LOST,
   * Linux 6.0+). A PERF_RECORD_LOST is written only in front of the next sample that
   * fits, so the drops after the last one (a trace that ends while its rings are
   * full) would never be reported from the records alone.
   */
  private lostByRead = true;

  constructor(map: BpfMap, opts: PerfReaderOptions = {}) {
    super();
    if (map.spec.type !== BPF_MAP_TYPE.PERF_EVENT_ARRAY) {
      throw new RingBufError(
        `map '${map.spec.name}' is a ${map.spec.typeName} map, expected perf_event_array`,
      );
    }
    const pages = opts.pages ?? 16;
    if (!(pages >= 1 && (pages & (pages - 1)) === 0)) {
      // perf_mmap() requires 1 + 2^n pages.
      throw new RingBufError(`perf reader: pages ${pages} is not a power of two`);
    }
    this.map = map;
    const len = (1 + pages) * PAGE_SIZE;
    try {
      for (const cpu of opts.cpus ?? possibleCpus()) {
        if (cpu >= map.spec.maxEntries) {
          throw new RingBufError(
            `perf map '${map.spec.name}' has ${map.spec.maxEntries} slots, CPU ${cpu} needs slot ${cpu}`,
          );
        }
        const open = () =>
          perfEventOpen(
            {
              type: PERF_TYPE_SOFTWARE,
              config: PERF_COUNT_SW_BPF_OUTPUT,
              sample_type: PERF_SAMPLE_RAW,
              sample_period: 1,
              read_format: this.lostByRead ? PERF_FORMAT_LOST : 0,
              flags: { watermark: opts.watermark !== undefined },
              wakeup_events: opts.watermark === undefined ? 1 : undefined,
              wakeup_watermark: opts.watermark,
            },
            -1,
            cpu,
            -1,
            undefined,
            `perf buffer of CPU ${cpu}`,
          );
        let fd: number;
        try {
          fd = open();
        } catch (e) {
          // Before Linux 6.0 an unknown read_format bit is EINVAL: count the records then.
          if (!(this.lostByRead && e instanceof SyscallError && e.code === "EINVAL")) throw e;
          this.lostByRead = false;
          fd = open();
        }
        let addr: bigint;
        try {
          addr = mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, `perf buffer of CPU ${cpu}`);
        } catch (e) {
          sys.close(fd);
          throw e;
        }
        const buf = view(addr, len);
        const ctl = new DataView(buf);
        const dataOff = Number(ctl.getBigUint64(DATA_OFFSET, true)) || PAGE_SIZE;
        const dataSize = Number(ctl.getBigUint64(DATA_SIZE, true)) || pages * PAGE_SIZE;
        const tail64 = new BigUint64Array(buf, DATA_TAIL, 1);
        this.rings.push({
          cpu,
          fd,
          addr,
          len,
          head64: new BigUint64Array(buf, DATA_HEAD, 1),
          tail64,
          data: new DataView(buf, dataOff, dataSize),
          dataOff,
          dataSize,
          tail: Number(Atomics.load(tail64, 0)),
        });
        ioctl(fd, PERF_EVENT_IOC_ENABLE, 0, `perf buffer of CPU ${cpu}`);
        map.update(cpu, fd);
      }
      this.waiter = new Waiter(
        this.rings.map((r) => r.fd),
        opts.waiter,
      );
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  consume(cb: RawCallback, limit = Number.POSITIVE_INFINITY, beforeCommit?: () => void): number {
    if (this.closed) return 0;
    let n = 0;
    const ends: number[] = [];
    try {
      for (const r of this.rings) {
        let tail = r.tail;
        const head = Number(Atomics.load(r.head64, 0));
        const dv = r.data;
        const size = r.dataSize;
        while (tail < head && n < limit) {
          const off = tail % size;
          // The 8-byte header never wraps: records are 8-aligned and the size a power of two.
          const type = dv.getUint32(off, true);
          const recSize = dv.getUint16(off + 6, true);
          if (recSize < 8) {
            throw new RingBufError(
              `perf buffer of CPU ${r.cpu}: corrupt record size ${recSize} at position ${tail}`,
            );
          }
          if (type === PERF_RECORD_SAMPLE || type === PERF_RECORD_LOST) {
            let v = dv;
            let o = off;
            if (off + recSize > size) {
              // Wrapped: copy both halves into one fresh buffer (it must stay valid for onBatch).
              const copy = new Uint8Array(recSize);
              const first = size - off;
              copy.set(new Uint8Array(dv.buffer, dv.byteOffset + off, first), 0);
              copy.set(new Uint8Array(dv.buffer, dv.byteOffset, recSize - first), first);
              v = new DataView(copy.buffer);
              o = 0;
            }
            if (type === PERF_RECORD_LOST) {
              this.lostCount += Number(v.getBigUint64(o + 16, true));
            } else {
              const rawSize = v.getUint32(o + 8, true);
              n++;
              cb(v, o + 12, Math.min(rawSize, recSize - 12));
            }
          }
          tail += recSize;
        }
        ends.push(tail);
        if (n >= limit) break;
      }
      beforeCommit?.();
    } finally {
      if (!this.closed) {
        for (let i = 0; i < ends.length; i++) {
          const r = this.rings[i];
          if (ends[i] !== r.tail) {
            r.tail = ends[i];
            Atomics.store(r.tail64, 0, BigInt(r.tail));
          }
        }
      }
    }
    return n;
  }

  /**
   * Samples the kernel dropped so far: its per-ring counters (Linux 6.0+), else the
   * PERF_RECORD_LOST totals read so far (which miss drops no later sample reported).
   */
  lost(): number {
    if (!this.lostByRead) return this.lostCount;
    let n = 0;
    for (const r of this.rings) n += Number(perfReadLost(r.fd, `perf buffer of CPU ${r.cpu}`));
    return n;
  }

  protected dispose(): void {
    for (const r of this.rings) {
      try {
        this.map.delete(r.cpu);
      } catch {
        // The map may already be closed by its owner; the slot dies with it.
      }
      munmap(r.addr, r.len);
      sys.close(r.fd);
    }
    this.rings.length = 0;
  }
}
