// Loss accounting for ring-buffer producers. The kernel keeps no count of failed
// bpf_ringbuf_reserve/output calls, so BPF programs count them in a per-CPU array
// (one u64 slot per possible CPU, lock-free) and user space sums the slots. The tracer
// turns each delta into a `lost` event: a drop is always reported, never silent.

import { RingBufError } from "../events/base.ts";
import type { BpfMap } from "../maps/map.ts";
import { BPF_MAP_TYPE } from "../uapi.ts";

/** Sums a per-CPU counter of records a BPF program could not send (a full ring buffer). */
export class LossCounter {
  private readonly map: BpfMap;
  private readonly key: number;
  private last = 0;

  /** `map`: a PERCPU_ARRAY (or ARRAY) of u64 counters; `key`: the slot holding failures. */
  constructor(map: BpfMap, key = 0) {
    if (map.spec.type !== BPF_MAP_TYPE.PERCPU_ARRAY && map.spec.type !== BPF_MAP_TYPE.ARRAY) {
      throw new RingBufError(
        `loss counter map '${map.spec.name}' is a ${map.spec.typeName} map, expected percpu_array`,
      );
    }
    if (map.spec.valueSize !== 8 && map.spec.valueSize !== 4) {
      throw new RingBufError(
        `loss counter map '${map.spec.name}': value size ${map.spec.valueSize}, expected a u64 (8) or u32 (4) counter`,
      );
    }
    this.map = map;
    this.key = key;
  }

  /** Sum over all CPUs of the counter now. */
  total(): number {
    const v = this.map.lookup(this.key);
    if (v === undefined)
      throw new RingBufError(`loss counter map '${this.map.spec.name}' has no key ${this.key}`);
    let sum = 0;
    for (const x of Array.isArray(v) ? v : [v]) sum += counterValue(x);
    return sum;
  }

  /** Losses since the previous delta() (the first call reports everything so far). */
  delta(): number {
    const t = this.total();
    const d = t - this.last;
    this.last = t;
    return d;
  }
}

/** One counter slot as a number: raw bytes (a map without BTF) are a little-endian u32/u64. */
export function counterValue(x: unknown): number {
  if (typeof x === "number") return x;
  if (typeof x === "bigint") return Number(x);
  if (x instanceof Uint8Array) {
    const dv = new DataView(x.buffer, x.byteOffset, x.byteLength);
    return x.byteLength >= 8 ? Number(dv.getBigUint64(0, true)) : dv.getUint32(0, true);
  }
  throw new RingBufError(`loss counter slot is a ${typeof x}, expected a number or bytes`);
}
