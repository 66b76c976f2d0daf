// Typed wrappers for the map commands of bpf(2). Element operations reuse one
// preallocated attr, so a lookup costs one FFI call plus the address lookups.
import { bpf_attr } from "../uapi.gen.ts";
import * as U from "../uapi.ts";
import { type AttrValue, describeValues, encodeAttr, MAP_BATCH, MAP_CREATE } from "./bpf-attr.ts";
import { bpf, bpfError, bpfTry, newAttr } from "./bpf-core.ts";
import { ERRNO } from "./errors.ts";
import { sys } from "./syscalls.ts";

/** Fields of the BPF_MAP_CREATE attr, named as in linux/bpf.h. */
export interface MapCreateAttr {
  map_type: number;
  key_size: number;
  value_size: number;
  max_entries: number;
  map_flags?: number;
  inner_map_fd?: number;
  numa_node?: number;
  map_name?: string;
  map_ifindex?: number;
  btf_fd?: number;
  btf_key_type_id?: number;
  btf_value_type_id?: number;
  btf_vmlinux_value_type_id?: number;
  map_extra?: bigint;
}

/** BPF_MAP_CREATE → map fd. `what` names the map in error messages ("map 'events'"). */
export function mapCreate(attrs: MapCreateAttr, what?: string): number {
  const values = attrs as unknown as Record<string, AttrValue>;
  const { attr } = encodeAttr(MAP_CREATE, values);
  return bpf(U.BPF_MAP_CREATE, attr, {
    what: what ?? (attrs.map_name ? `map '${attrs.map_name}'` : undefined),
    fields: describeValues(values),
  });
}

/** Offsets of the hand-written attrs below (hot paths skip encodeAttr). */
const ELEM = bpf_attr["BPF_MAP_*_ELEM"];
const BATCH = bpf_attr.batch;

const elemAttr = newAttr();
const elemView = new DataView(elemAttr.buffer);

function setElem(fd: number, key: bigint, value: bigint, flags: number): void {
  elemView.setUint32(ELEM.map_fd[0], fd, true);
  elemView.setBigUint64(ELEM.key[0], key, true);
  elemView.setBigUint64(ELEM.value[0], value, true);
  elemView.setBigUint64(ELEM.flags[0], BigInt(flags), true);
}

/**
 * Element op on raw addresses (for callers that cache their buffers' addresses).
 * Returns 0, or -errno for ENOENT (absent key); throws on any other error.
 */
export function mapElemRaw(cmd: number, fd: number, key: bigint, value: bigint, flags = 0): number {
  setElem(fd, key, value, flags);
  const r = bpfTry(cmd, elemAttr);
  if (r < 0 && r !== -ERRNO.ENOENT) throw bpfError(cmd, elemAttr, -r, undefined);
  return r;
}

const addr = (b: Uint8Array | null | undefined): bigint => (b && b.byteLength > 0 ? sys.address_of(b) : 0n);

/** BPF_MAP_LOOKUP_ELEM into `value`; false when the key is absent. */
export function mapLookupElem(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): boolean {
  return mapElemRaw(U.BPF_MAP_LOOKUP_ELEM, fd, addr(key), addr(value), flags) === 0;
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM (queues/stacks take a zero-size key); false when absent. */
export function mapLookupAndDeleteElem(fd: number, key: Uint8Array | null, value: Uint8Array): boolean {
  return mapElemRaw(U.BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, addr(key), addr(value)) === 0;
}

/** BPF_MAP_UPDATE_ELEM with BPF_ANY / BPF_NOEXIST / BPF_EXIST (| BPF_F_LOCK). */
export function mapUpdateElem(fd: number, key: Uint8Array, value: Uint8Array, flags = U.BPF_ANY): void {
  setElem(fd, addr(key), addr(value), flags);
  bpf(U.BPF_MAP_UPDATE_ELEM, elemAttr);
}

/** BPF_MAP_DELETE_ELEM; false when the key was absent. */
export function mapDeleteElem(fd: number, key: Uint8Array): boolean {
  return mapElemRaw(U.BPF_MAP_DELETE_ELEM, fd, addr(key), 0n) === 0;
}

/** BPF_MAP_GET_NEXT_KEY: key null gives the first key; false after the last. */
export function mapGetNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): boolean {
  return mapElemRaw(U.BPF_MAP_GET_NEXT_KEY, fd, addr(key), addr(nextKey)) === 0;
}

/** BPF_MAP_FREEZE: user space can no longer write the map (programs still can unless RDONLY_PROG). */
export function mapFreeze(fd: number): void {
  const attr = newAttr();
  new DataView(attr.buffer).setUint32(ELEM.map_fd[0], fd, true);
  bpf(U.BPF_MAP_FREEZE, attr);
}

export interface BatchArgs {
  /** Opaque cursor from the previous call's outBatch; null to start. */
  inBatch?: Uint8Array | null;
  /** Receives the cursor; at least key_size bytes (for hash maps), 4 for arrays. */
  outBatch?: Uint8Array | null;
  keys: Uint8Array;
  values?: Uint8Array | null;
  /** Number of elements the buffers can hold. */
  count: number;
  elemFlags?: number;
  flags?: number;
}

export interface BatchResult {
  /** Elements processed (written back by the kernel). */
  count: number;
  /** ENOENT: no more elements after these. */
  done: boolean;
}

function batch(cmd: number, fd: number, a: BatchArgs): BatchResult {
  const attr = newAttr();
  const dv = new DataView(attr.buffer);
  dv.setBigUint64(BATCH.in_batch[0], addr(a.inBatch), true);
  dv.setBigUint64(BATCH.out_batch[0], addr(a.outBatch), true);
  dv.setBigUint64(BATCH.keys[0], addr(a.keys), true);
  dv.setBigUint64(BATCH.values[0], addr(a.values), true);
  dv.setUint32(BATCH.count[0], a.count, true);
  dv.setUint32(BATCH.map_fd[0], fd, true);
  dv.setBigUint64(BATCH.elem_flags[0], BigInt(a.elemFlags ?? 0), true);
  dv.setBigUint64(BATCH.flags[0], BigInt(a.flags ?? 0), true);
  const r = bpfTry(cmd, attr);
  // The kernel writes back how many elements it processed even when it fails with ENOENT.
  const count = dv.getUint32(BATCH.count[0], true);
  if (r < 0 && r !== -ERRNO.ENOENT) throw bpfError(cmd, attr, -r, { fields: batchFields(dv) });
  return { count, done: r < 0 };
}

function batchFields(dv: DataView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, off, kind] of MAP_BATCH) {
    if (kind === "u32") out[name] = dv.getUint32(off, true);
  }
  return out;
}

/** BPF_MAP_LOOKUP_BATCH */
export function mapLookupBatch(fd: number, a: BatchArgs): BatchResult {
  return batch(U.BPF_MAP_LOOKUP_BATCH, fd, a);
}
/** BPF_MAP_LOOKUP_AND_DELETE_BATCH */
export function mapLookupAndDeleteBatch(fd: number, a: BatchArgs): BatchResult {
  return batch(U.BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, a);
}
/** BPF_MAP_UPDATE_BATCH: keys and values hold `count` packed elements. */
export function mapUpdateBatch(fd: number, a: BatchArgs): BatchResult {
  return batch(U.BPF_MAP_UPDATE_BATCH, fd, a);
}
/** BPF_MAP_DELETE_BATCH: keys hold `count` packed keys. */
export function mapDeleteBatch(fd: number, a: BatchArgs): BatchResult {
  return batch(U.BPF_MAP_DELETE_BATCH, fd, a);
}
