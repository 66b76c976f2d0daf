// union bpf_attr layouts, one per command group, with the field names and offsets of
// include/uapi/linux/bpf.h (offsets checked with offsetof() against the installed
// header; fields newer than it, like log_true_size at 140, from the 6.x header).
// A layout drives both encoding (JS record -> bytes) and decoding (bytes -> record, for
// the recorder and for error messages).
import * as U from "../uapi.ts";
import { addressOf } from "./libc.ts";

export type FieldKind = "u32" | "s32" | "u64" | "ptr" | "name16";
export type Field = readonly [name: string, offset: number, kind: FieldKind];
export type Layout = readonly Field[];

/** Every bpf() call passes this many bytes; the kernel accepts a larger attr if the tail is zero. */
export const ATTR_SIZE = 168;

export const MAP_CREATE: Layout = [
  ["map_type", 0, "u32"],
  ["key_size", 4, "u32"],
  ["value_size", 8, "u32"],
  ["max_entries", 12, "u32"],
  ["map_flags", 16, "u32"],
  ["inner_map_fd", 20, "u32"],
  ["numa_node", 24, "u32"],
  ["map_name", 28, "name16"],
  ["map_ifindex", 44, "u32"],
  ["btf_fd", 48, "u32"],
  ["btf_key_type_id", 52, "u32"],
  ["btf_value_type_id", 56, "u32"],
  ["btf_vmlinux_value_type_id", 60, "u32"],
  ["map_extra", 64, "u64"],
];

/** BPF_MAP_*_ELEM, GET_NEXT_KEY (next_key shares value's slot). */
export const MAP_ELEM: Layout = [
  ["map_fd", 0, "u32"],
  ["key", 8, "ptr"],
  ["value", 16, "ptr"],
  ["flags", 24, "u64"],
];
export const MAP_NEXT_KEY: Layout = [
  ["map_fd", 0, "u32"],
  ["key", 8, "ptr"],
  ["next_key", 16, "ptr"],
];

/** struct { ... } batch: BPF_MAP_*_BATCH */
export const MAP_BATCH: Layout = [
  ["in_batch", 0, "ptr"],
  ["out_batch", 8, "ptr"],
  ["keys", 16, "ptr"],
  ["values", 24, "ptr"],
  ["count", 32, "u32"],
  ["map_fd", 36, "u32"],
  ["elem_flags", 40, "u64"],
  ["flags", 48, "u64"],
];

export const PROG_LOAD: Layout = [
  ["prog_type", 0, "u32"],
  ["insn_cnt", 4, "u32"],
  ["insns", 8, "ptr"],
  ["license", 16, "ptr"],
  ["log_level", 24, "u32"],
  ["log_size", 28, "u32"],
  ["log_buf", 32, "ptr"],
  ["kern_version", 40, "u32"],
  ["prog_flags", 44, "u32"],
  ["prog_name", 48, "name16"],
  ["prog_ifindex", 64, "u32"],
  ["expected_attach_type", 68, "u32"],
  ["prog_btf_fd", 72, "u32"],
  ["func_info_rec_size", 76, "u32"],
  ["func_info", 80, "ptr"],
  ["func_info_cnt", 88, "u32"],
  ["line_info_rec_size", 92, "u32"],
  ["line_info", 96, "ptr"],
  ["line_info_cnt", 104, "u32"],
  ["attach_btf_id", 108, "u32"],
  /** union { attach_prog_fd; attach_btf_obj_fd; } */
  ["attach_btf_obj_fd", 112, "u32"],
  ["core_relo_cnt", 116, "u32"],
  ["fd_array", 120, "ptr"],
  ["core_relos", 128, "ptr"],
  ["core_relo_rec_size", 136, "u32"],
  ["log_true_size", 140, "u32"],
];

/** BPF_OBJ_PIN / BPF_OBJ_GET */
export const OBJ: Layout = [
  ["pathname", 0, "ptr"],
  ["bpf_fd", 8, "u32"],
  ["file_flags", 12, "u32"],
];

/** BPF_*_GET_NEXT_ID / BPF_*_GET_FD_BY_ID (start_id/prog_id/map_id/btf_id/link_id share offset 0) */
export const GET_ID: Layout = [
  ["start_id", 0, "u32"],
  ["next_id", 4, "u32"],
  ["open_flags", 8, "u32"],
];

export const OBJ_INFO: Layout = [
  ["bpf_fd", 0, "u32"],
  ["info_len", 4, "u32"],
  ["info", 8, "ptr"],
];

export const RAW_TRACEPOINT: Layout = [
  ["name", 0, "ptr"],
  ["prog_fd", 8, "u32"],
];

export const BTF_LOAD: Layout = [
  ["btf", 0, "ptr"],
  ["btf_log_buf", 8, "ptr"],
  ["btf_size", 16, "u32"],
  ["btf_log_size", 20, "u32"],
  ["btf_log_level", 24, "u32"],
  ["btf_log_true_size", 28, "u32"],
];

/**
 * link_create: prog_fd, target_fd, attach_type, flags, then a union at 16:
 * target_btf_id (u32) | perf_event.bpf_cookie (u64) | tracing { target_btf_id; cookie at 24 }.
 */
export const LINK_CREATE: Layout = [
  ["prog_fd", 0, "u32"],
  ["target_fd", 4, "u32"],
  ["attach_type", 8, "u32"],
  ["flags", 12, "u32"],
  ["target_btf_id", 16, "u32"],
  ["bpf_cookie", 16, "u64"],
  ["tracing.cookie", 24, "u64"],
  /** iterators: struct bpf_iter_link_info * and its size */
  ["iter_info", 16, "ptr"],
  ["iter_info_len", 24, "u32"],
  /** tcx (6.6+): union { relative_fd; relative_id; } then expected_revision */
  ["tcx.relative_fd", 16, "u32"],
  ["tcx.expected_revision", 24, "u64"],
];

/** BPF_PROG_ATTACH / BPF_PROG_DETACH (relative_fd and expected_revision are 6.6+). */
export const PROG_ATTACH: Layout = [
  ["target_fd", 0, "u32"],
  ["attach_bpf_fd", 4, "u32"],
  ["attach_type", 8, "u32"],
  ["attach_flags", 12, "u32"],
  ["replace_bpf_fd", 16, "u32"],
  ["relative_fd", 20, "u32"],
  ["expected_revision", 24, "u64"],
];

/** BPF_PROG_QUERY */
export const PROG_QUERY: Layout = [
  ["target_fd", 0, "u32"],
  ["attach_type", 4, "u32"],
  ["query_flags", 8, "u32"],
  ["attach_flags", 12, "u32"],
  ["prog_ids", 16, "ptr"],
  ["prog_cnt", 24, "u32"],
];

/** BPF_ITER_CREATE */
export const ITER_CREATE: Layout = [
  ["link_fd", 0, "u32"],
  ["flags", 4, "u32"],
];

/** link_create.kprobe_multi (5.18+): the union at 16 for attach_type BPF_TRACE_KPROBE_MULTI. */
export const LINK_CREATE_KPROBE_MULTI: Layout = [
  ["prog_fd", 0, "u32"],
  ["target_fd", 4, "u32"],
  ["attach_type", 8, "u32"],
  ["flags", 12, "u32"],
  ["kprobe_multi.flags", 16, "u32"],
  ["kprobe_multi.cnt", 20, "u32"],
  ["kprobe_multi.syms", 24, "ptr"],
  ["kprobe_multi.addrs", 32, "ptr"],
  ["kprobe_multi.cookies", 40, "ptr"],
];

export const PROG_TEST_RUN: Layout = [
  ["prog_fd", 0, "u32"],
  ["retval", 4, "u32"],
  ["data_size_in", 8, "u32"],
  ["data_size_out", 12, "u32"],
  ["data_in", 16, "ptr"],
  ["data_out", 24, "ptr"],
  ["repeat", 32, "u32"],
  ["duration", 36, "u32"],
  ["ctx_size_in", 40, "u32"],
  ["ctx_size_out", 44, "u32"],
  ["ctx_in", 48, "ptr"],
  ["ctx_out", 56, "ptr"],
  ["flags", 64, "u32"],
  ["cpu", 68, "u32"],
  ["batch_size", 72, "u32"],
];

export const MAP_FD_ONLY: Layout = [["map_fd", 0, "u32"]];

export const LINK_DETACH: Layout = [["link_fd", 0, "u32"]];

/** Layout of each command, for decoding. */
export const LAYOUTS: Record<number, Layout> = {
  [U.BPF_MAP_CREATE]: MAP_CREATE,
  [U.BPF_MAP_LOOKUP_ELEM]: MAP_ELEM,
  [U.BPF_MAP_UPDATE_ELEM]: MAP_ELEM,
  [U.BPF_MAP_DELETE_ELEM]: MAP_ELEM,
  [U.BPF_MAP_LOOKUP_AND_DELETE_ELEM]: MAP_ELEM,
  [U.BPF_MAP_GET_NEXT_KEY]: MAP_NEXT_KEY,
  [U.BPF_PROG_LOAD]: PROG_LOAD,
  [U.BPF_OBJ_PIN]: OBJ,
  [U.BPF_OBJ_GET]: OBJ,
  [U.BPF_PROG_TEST_RUN]: PROG_TEST_RUN,
  [U.BPF_PROG_GET_NEXT_ID]: GET_ID,
  [U.BPF_MAP_GET_NEXT_ID]: GET_ID,
  [U.BPF_BTF_GET_NEXT_ID]: GET_ID,
  [U.BPF_LINK_GET_NEXT_ID]: GET_ID,
  [U.BPF_PROG_GET_FD_BY_ID]: GET_ID,
  [U.BPF_MAP_GET_FD_BY_ID]: GET_ID,
  [U.BPF_BTF_GET_FD_BY_ID]: GET_ID,
  [U.BPF_LINK_GET_FD_BY_ID]: GET_ID,
  [U.BPF_OBJ_GET_INFO_BY_FD]: OBJ_INFO,
  [U.BPF_RAW_TRACEPOINT_OPEN]: RAW_TRACEPOINT,
  [U.BPF_BTF_LOAD]: BTF_LOAD,
  [U.BPF_MAP_FREEZE]: MAP_FD_ONLY,
  [U.BPF_MAP_LOOKUP_BATCH]: MAP_BATCH,
  [U.BPF_MAP_LOOKUP_AND_DELETE_BATCH]: MAP_BATCH,
  [U.BPF_MAP_UPDATE_BATCH]: MAP_BATCH,
  [U.BPF_MAP_DELETE_BATCH]: MAP_BATCH,
  [U.BPF_LINK_CREATE]: LINK_CREATE,
  [U.BPF_LINK_DETACH]: LINK_DETACH,
  [U.BPF_PROG_ATTACH]: PROG_ATTACH,
  [U.BPF_PROG_DETACH]: PROG_ATTACH,
  [U.BPF_PROG_QUERY]: PROG_QUERY,
  [U.BPF_ITER_CREATE]: ITER_CREATE,
};

export type AttrValue = number | bigint | string | Uint8Array | null | undefined;

/**
 * Encode `values` into a fresh zeroed attr. Pointer fields take a Uint8Array (its
 * address is written), a bigint address, or a string (NUL-terminated copy). The
 * returned `keep` array holds the buffers whose addresses were written: the caller
 * keeps it alive across the syscall.
 */
export function encodeAttr(
  layout: Layout,
  values: Record<string, AttrValue>,
): { attr: Uint8Array; keep: Uint8Array[] } {
  const attr = new Uint8Array(new ArrayBuffer(ATTR_SIZE));
  const dv = new DataView(attr.buffer);
  const keep: Uint8Array[] = [];
  for (const [name, off, kind] of layout) {
    const v = values[name];
    if (v === undefined || v === null) continue;
    switch (kind) {
      case "u32":
      case "s32":
        if (kind === "s32") dv.setInt32(off, Number(v), true);
        else dv.setUint32(off, Number(v) >>> 0, true);
        break;
      case "u64":
        dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v as number | bigint)), true);
        break;
      case "ptr": {
        let addr: bigint;
        if (typeof v === "bigint") addr = v;
        else if (typeof v === "string") {
          const b = cString(v);
          keep.push(b);
          addr = addressOf(b);
        } else if (v instanceof Uint8Array) {
          if (v.byteLength === 0) continue;
          keep.push(v);
          addr = addressOf(v);
        } else addr = BigInt(v);
        dv.setBigUint64(off, addr, true);
        break;
      }
      case "name16": {
        const bytes = new TextEncoder().encode(String(v));
        attr.set(bytes.subarray(0, 15), off);
        break;
      }
    }
  }
  return { attr, keep };
}

/** A NUL-terminated copy of `s` in off-heap memory (stable address). */
export function cString(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const b = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  b.set(bytes);
  return b;
}

/** Decode an attr with its command's layout: non-zero fields only, pointers as hex. */
export function decodeAttr(cmd: number, attr: Uint8Array): Record<string, unknown> {
  const layout = LAYOUTS[cmd];
  const out: Record<string, unknown> = {};
  if (!layout) return out;
  const dv = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
  for (const [name, off, kind] of layout) {
    if (off + (kind === "u32" || kind === "s32" ? 4 : kind === "name16" ? 16 : 8) > attr.byteLength) continue;
    let v: unknown;
    if (kind === "u32") v = dv.getUint32(off, true);
    else if (kind === "s32") v = dv.getInt32(off, true);
    else if (kind === "u64") v = dv.getBigUint64(off, true);
    else if (kind === "ptr") {
      const p = dv.getBigUint64(off, true);
      v = p === 0n ? 0 : `0x${p.toString(16)}`;
    } else {
      const raw = attr.subarray(off, off + 16);
      const end = raw.indexOf(0);
      v = new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end));
    }
    if (v === 0 || v === 0n || v === "") continue;
    out[name] = v;
  }
  return out;
}

/** Describe a JS attr record for display: buffers as their length, the rest as is. */
export function describeValues(values: Record<string, AttrValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === null || v === 0 || v === 0n || v === "") continue;
    out[k] = v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v;
  }
  return out;
}
