// BpfMap: one kernel map (fd) with typed access. Keys and values are Uint8Array, plain
// numbers/bigints for 1/2/4/8-byte scalars, or JS values through the map's BTF types
// (src/btf/codec.ts) when a Btf is given. Per-CPU maps take and return one value per
// possible CPU; the kernel lays them out with each value rounded up to 8 bytes
// (bpf_map_value_size() in kernel/bpf/syscall.c).
import type { Btf } from "../btf/btf.ts";
import { type Codec, makeCodec } from "../btf/codec.ts";
import type { MapSpec } from "../spec.ts";
import {
  closeFd,
  type MapInfo,
  mapCreate,
  mapElemRaw,
  mapFreeze,
  mapInfo,
  objGet,
  objPin,
  SyscallError,
} from "../sys/bpf.ts";
import { numPossibleCpus } from "../sys/cpus.ts";
import { ERRNO } from "../sys/errors.ts";
import { sys } from "../sys/syscalls.ts";
import * as U from "../uapi.ts";
import { batchDelete, batchEntries } from "./batch.ts";
import {
  MapError,
  packValue,
  readBytes,
  round8,
  unpackValue,
  type ValueLayout,
  writeBytes,
} from "./values.ts";

export { MapError, writeBytes } from "./values.ts";

/** Options of BpfMap.create(). */
export interface MapCreateOptions {
  /** BTF of the object: enables JS-value keys/values through the codec. */
  btf?: Btf;
  /** fd of the same BTF loaded in the kernel: passed as btf_fd with the key/value type ids. */
  btfFd?: number;
  /** For array/hash of maps: an existing inner template map (else one is made from spec.inner). */
  innerMapFd?: number;
  /** Name in the kernel (default spec.name), truncated to 15 chars of [A-Za-z0-9_.]. */
  name?: string;
}

/** A map key: raw bytes, an integer for 1/2/4/8-byte keys, or a JS value encoded through the map's BTF. */
export type MapKey = Uint8Array | number | bigint | object;
/** A map value (see MapKey). */
export type MapValue = unknown;

const PER_CPU = new Set<number>([
  U.BPF_MAP_TYPE.PERCPU_HASH,
  U.BPF_MAP_TYPE.PERCPU_ARRAY,
  U.BPF_MAP_TYPE.LRU_PERCPU_HASH,
  U.BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE,
]);

/** Map types whose kernel ops reject key/value BTF (map_check_no_btf) or have none. */
const NO_BTF = new Set<number>([
  U.BPF_MAP_TYPE.PROG_ARRAY,
  U.BPF_MAP_TYPE.PERF_EVENT_ARRAY,
  U.BPF_MAP_TYPE.CGROUP_ARRAY,
  U.BPF_MAP_TYPE.ARRAY_OF_MAPS,
  U.BPF_MAP_TYPE.HASH_OF_MAPS,
  U.BPF_MAP_TYPE.STACK_TRACE,
  U.BPF_MAP_TYPE.RINGBUF,
  U.BPF_MAP_TYPE.USER_RINGBUF,
]);

/** Kernel object names: at most BPF_OBJ_NAME_LEN-1 = 15 chars of [A-Za-z0-9_.] (bpf_obj_name_cpy). */
export function kernelObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, "").slice(0, 15);
}

/**
 * A kernel map. `K` and `V` are the types its keys and values decode to (from the map's
 * BTF; `tsbpf gen` spells them out per map). Any key or value may also be given as the
 * raw bytes of the C type (a Uint8Array of key_size / value_size bytes).
 */
export class BpfMap<K = MapKey, V = unknown> {
  readonly fd: number;
  readonly spec: MapSpec;
  readonly perCpu: boolean;
  /** Slots per value: possible CPUs for per-CPU maps, else 1. */
  readonly nValues: number;
  /** Bytes per CPU slot in a per-CPU value buffer. */
  readonly stride: number;
  /** Kernel-side key/value buffers: stable off-heap memory, addresses cached. */
  private readonly keyBuf: Uint8Array;
  private readonly nextBuf: Uint8Array;
  private readonly valBuf: Uint8Array;
  private readonly keyAddr: bigint;
  private readonly nextAddr: bigint;
  private readonly valAddr: bigint;
  private readonly keyCodec: Codec | undefined;
  private readonly layout: ValueLayout;
  private closed = false;

  constructor(fd: number, spec: MapSpec, btf?: Btf) {
    this.fd = fd;
    this.spec = spec;
    this.perCpu = PER_CPU.has(spec.type);
    this.nValues = this.perCpu ? numPossibleCpus() : 1;
    this.stride = this.perCpu ? round8(spec.valueSize) : spec.valueSize;
    this.keyBuf = new Uint8Array(new ArrayBuffer(Math.max(spec.keySize, 1)));
    this.nextBuf = new Uint8Array(new ArrayBuffer(Math.max(spec.keySize, 1)));
    this.valBuf = new Uint8Array(new ArrayBuffer(Math.max(this.stride * this.nValues, 1)));
    this.keyAddr = sys.address_of(this.keyBuf);
    this.nextAddr = sys.address_of(this.nextBuf);
    this.valAddr = sys.address_of(this.valBuf);
    if (btf && spec.btfKeyTypeId) this.keyCodec = makeCodec(btf, spec.btfKeyTypeId, { root: "key" });
    const codec =
      btf && spec.btfValueTypeId ? makeCodec(btf, spec.btfValueTypeId, { root: "value" }) : undefined;
    this.layout = {
      valueSize: spec.valueSize,
      perCpu: this.perCpu,
      nValues: this.nValues,
      stride: this.stride,
      codec,
    };
  }

  /** BPF_MAP_CREATE from a spec. */
  static create(spec: MapSpec, opts: MapCreateOptions = {}): BpfMap {
    const name = kernelObjectName(opts.name ?? spec.name);
    let keySize = spec.keySize;
    let valueSize = spec.valueSize;
    let maxEntries = spec.maxEntries;
    if (spec.type === U.BPF_MAP_TYPE.PERF_EVENT_ARRAY) {
      // libbpf convention: max_entries 0 means one slot per possible CPU.
      if (maxEntries === 0) maxEntries = numPossibleCpus();
      keySize ||= 4;
      valueSize ||= 4;
    }
    let innerFd = opts.innerMapFd;
    let tempInner: BpfMap | undefined;
    const outer = spec.type === U.BPF_MAP_TYPE.ARRAY_OF_MAPS || spec.type === U.BPF_MAP_TYPE.HASH_OF_MAPS;
    if (outer && innerFd === undefined) {
      if (!spec.inner) {
        throw new MapError(
          `map '${spec.name}': ${spec.typeName} needs an inner map template (spec.inner or innerMapFd)`,
        );
      }
      // The kernel copies the template's properties; the template itself can go after create.
      tempInner = BpfMap.create(spec.inner, { name: `${name}.inner`.slice(0, 15) });
    }
    if (tempInner) innerFd = tempInner.fd;
    const useBtf =
      opts.btfFd !== undefined && !NO_BTF.has(spec.type) && (spec.btfKeyTypeId || spec.btfValueTypeId);
    const attrs = {
      map_type: spec.type,
      key_size: keySize,
      value_size: valueSize,
      max_entries: maxEntries,
      map_flags: spec.flags,
      inner_map_fd: innerFd,
      numa_node: spec.numaNode,
      map_name: name,
      map_extra: spec.mapExtra,
    };
    const what = `map '${spec.name}'`;
    let fd: number;
    try {
      if (useBtf) {
        try {
          fd = mapCreate(
            {
              ...attrs,
              btf_fd: opts.btfFd,
              btf_key_type_id: spec.btfKeyTypeId,
              btf_value_type_id: spec.btfValueTypeId,
            },
            what,
          );
        } catch (e) {
          // Like libbpf: a kernel that refuses this map's BTF still gets the map, without it.
          if (
            !(e instanceof SyscallError) ||
            ![ERRNO.EINVAL, ERRNO.ENOTSUPP, ERRNO.EOPNOTSUPP].includes(e.errno)
          )
            throw e;
          fd = mapCreate(attrs, what);
        }
      } else fd = mapCreate(attrs, what);
    } finally {
      tempInner?.close();
    }
    const real: MapSpec = { ...spec, keySize, valueSize, maxEntries };
    return new BpfMap(fd, real, opts.btf);
  }

  /** Open a pinned map; the spec is rebuilt from the kernel's map info when not given. */
  static fromPin(path: string, spec?: MapSpec, opts: { btf?: Btf } = {}): BpfMap {
    const fd = objGet(path);
    try {
      return new BpfMap(fd, spec ?? specFromInfo(mapInfo(fd), path), opts.btf);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  get name(): string {
    return this.spec.name;
  }

  private check(): void {
    if (this.closed) throw new MapError(`map '${this.spec.name}' is closed`);
  }

  private putKey(key: unknown, into: Uint8Array): void {
    writeBytes(key, into, this.spec.keySize, this.keyCodec, `map '${this.spec.name}' key`);
  }

  private putValue(value: MapValue): void {
    packValue(value, this.valBuf, this.layout, `map '${this.spec.name}' value`);
  }

  private readKey(buf: Uint8Array): unknown {
    return readBytes(buf, this.spec.keySize, this.keyCodec);
  }

  private readValue(): unknown {
    return unpackValue(this.valBuf, this.layout);
  }

  /** BPF_MAP_LOOKUP_ELEM: the value, or undefined when the key is absent. */
  lookup(key: K | Uint8Array): V | undefined {
    this.check();
    this.putKey(key, this.keyBuf);
    const r = mapElemRaw(U.BPF_MAP_LOOKUP_ELEM, this.fd, this.keyAddr, this.valAddr);
    return r === 0 ? (this.readValue() as V) : undefined;
  }

  /** BPF_MAP_UPDATE_ELEM. For prog arrays and maps of maps, the value is an fd (or a BpfMap). */
  update(key: K | Uint8Array, value: V | Uint8Array, flags: number = U.BPF_ANY): void {
    this.check();
    this.putKey(key, this.keyBuf);
    this.putValue((value as unknown) instanceof BpfMap ? (value as unknown as BpfMap).fd : value);
    try {
      mapElemRaw(U.BPF_MAP_UPDATE_ELEM, this.fd, this.keyAddr, this.valAddr, flags);
    } catch (e) {
      throw rename(e, this.spec.name);
    }
  }

  /** BPF_MAP_DELETE_ELEM: false when the key was absent. */
  delete(key: K | Uint8Array): boolean {
    this.check();
    this.putKey(key, this.keyBuf);
    return mapElemRaw(U.BPF_MAP_DELETE_ELEM, this.fd, this.keyAddr, 0n) === 0;
  }

  /**
   * Steps through the keys with BPF_MAP_GET_NEXT_KEY, leaving each in keyBuf (a key
   * deleted meanwhile restarts the walk, per the kernel).
   */
  private *walk(): Generator<void> {
    let addr = 0n;
    while (mapElemRaw(U.BPF_MAP_GET_NEXT_KEY, this.fd, addr, this.nextAddr) === 0) {
      this.keyBuf.set(this.nextBuf);
      addr = this.keyAddr;
      yield;
    }
  }

  /** Keys via BPF_MAP_GET_NEXT_KEY. */
  *keys(): Generator<K> {
    this.check();
    for (const _ of this.walk()) yield this.readKey(this.keyBuf) as K;
  }

  /** [key, value] pairs, one lookup per key (see lookupBatch for fewer syscalls). */
  *entries(): Generator<[K, V]> {
    this.check();
    for (const _ of this.walk()) {
      if (mapElemRaw(U.BPF_MAP_LOOKUP_ELEM, this.fd, this.keyAddr, this.valAddr) !== 0) continue;
      yield [this.readKey(this.keyBuf) as K, this.readValue() as V];
    }
  }

  /** `for (const [key, value] of map)`: same as entries(). */
  [Symbol.iterator](): Generator<[K, V]> {
    return this.entries();
  }

  /**
   * All entries with BPF_MAP_LOOKUP_BATCH (kernel 5.6+, not every map type). Where the
   * kernel does not support batch ops for this map, it falls back to the per-key loop.
   */
  lookupBatch(): [K, V][] {
    this.check();
    return batchEntries(this, false, (b) => this.decodeEntries(b)) ?? [...this.entries()];
  }

  /** Read and remove every entry (BPF_MAP_LOOKUP_AND_DELETE_BATCH; per-key fallback). */
  lookupAndDeleteBatch(): [K, V][] {
    this.check();
    const got = batchEntries(this, true, (b) => this.decodeEntries(b));
    if (got) return got;
    const all = [...this.entries()];
    for (const [k] of all) this.delete(k);
    return all;
  }

  /** Delete these keys (BPF_MAP_DELETE_BATCH; per-key fallback). Returns how many were deleted. */
  deleteBatch(keys: (K | Uint8Array)[]): number {
    this.check();
    const ks = this.spec.keySize;
    const packed = new Uint8Array(new ArrayBuffer(Math.max(1, keys.length * ks)));
    for (let i = 0; i < keys.length; i++) this.putKey(keys[i], packed.subarray(i * ks, (i + 1) * ks));
    const n = batchDelete(this, packed, keys.length);
    if (n !== undefined) {
      // The kernel stops at the first absent key (ENOENT): skip it and finish one by one.
      let total = n;
      for (const k of keys.slice(n + 1)) if (this.delete(k)) total++;
      return total;
    }
    let count = 0;
    for (const k of keys) if (this.delete(k)) count++;
    return count;
  }

  private decodeEntries(b: { keys: Uint8Array; values: Uint8Array; count: number }): [K, V][] {
    const ks = this.spec.keySize;
    const vs = this.stride * this.nValues;
    const out: [K, V][] = [];
    for (let i = 0; i < b.count; i++) {
      this.valBuf.set(b.values.subarray(i * vs, (i + 1) * vs));
      out.push([this.readKey(b.keys.subarray(i * ks, (i + 1) * ks)) as K, this.readValue() as V]);
    }
    return out;
  }

  /** BPF_MAP_FREEZE: no more writes from user space. */
  freeze(): void {
    this.check();
    mapFreeze(this.fd);
  }

  /** BPF_OBJ_PIN at `path` (the directory must be on a bpffs; see src/maps/pin.ts). */
  pin(path: string): void {
    this.check();
    objPin(this.fd, path);
  }

  /** The kernel's view of this map (id, type, sizes, flags, name). */
  info(): MapInfo {
    this.check();
    return mapInfo(this.fd);
  }

  /** Closes the map's fd (the kernel frees the map when nothing else holds it). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFd(this.fd);
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}

function rename(e: unknown, name: string): unknown {
  if (e instanceof SyscallError) {
    return new SyscallError(e.syscall, e.errno, { what: `map '${name}'`, fields: e.fields });
  }
  return e;
}

function specFromInfo(info: MapInfo, path: string): MapSpec {
  return {
    name: info.name || path,
    type: info.type,
    typeName: (U.BPF_MAP_TYPE_NAMES[info.type] ?? `type ${info.type}`).toLowerCase(),
    keySize: info.key_size,
    valueSize: info.value_size,
    maxEntries: info.max_entries,
    flags: info.map_flags,
    numaNode: 0,
    mapExtra: info.map_extra,
    pinning: "none",
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
  };
}
