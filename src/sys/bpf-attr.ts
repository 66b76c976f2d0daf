// union bpf_attr layouts, one per command group, with the field names of
// include/uapi/linux/bpf.h. Offsets and widths come from uapi.gen.ts, generated from the
// kernel's BTF (scripts/gen-uapi.ts); this file only chooses which fields each command
// writes (one name of a union) and which __aligned_u64 fields carry user pointers.
// A layout drives both encoding (JS record -> bytes) and decoding (bytes -> record, for
// the recorder and for error messages).

import { bpf_attr } from "../uapi.gen.ts";
import * as U from "../uapi.ts";
import { sys } from "./syscalls.ts";

export type FieldKind = "u32" | "s32" | "u64" | "ptr" | "name16";
export type Field = readonly [name: string, offset: number, kind: FieldKind];
export type Layout = readonly Field[];

/** Every bpf() call passes this many bytes; the kernel accepts a larger attr if the tail is zero. */
export const ATTR_SIZE = 168;

type Group = keyof typeof bpf_attr;
type FieldOf<G extends Group> = keyof (typeof bpf_attr)[G] & string;

/**
 * The fields `names` of bpf_attr's member `group`, at the kernel's offsets; `ptrs` are
 * the __aligned_u64 ones holding a user address (BTF records them as plain __u64).
 */
function layout<G extends Group>(
  group: G,
  names: readonly FieldOf<G>[],
  ptrs: readonly FieldOf<G>[] = [],
): Layout {
  const fields = bpf_attr[group] as Record<string, readonly [number, string]>;
  return names.map((name): Field => {
    const [off, type] = fields[name];
    const kind =
      type === "u64"
        ? ptrs.includes(name)
          ? "ptr"
          : "u64"
        : type === "char[16]"
          ? "name16"
          : type === "u32" || type === "s32"
            ? type
            : undefined;
    if (!kind || (kind !== "ptr" && ptrs.includes(name)))
      throw new Error(`bpf_attr ${group}.${name}: ${type} is not a field kind this module writes`);
    return [name, off, kind];
  });
}

export const MAP_CREATE: Layout = layout("BPF_MAP_CREATE", [
  "map_type",
  "key_size",
  "value_size",
  "max_entries",
  "map_flags",
  "inner_map_fd",
  "numa_node",
  "map_name",
  "map_ifindex",
  "btf_fd",
  "btf_key_type_id",
  "btf_value_type_id",
  "btf_vmlinux_value_type_id",
  "map_extra",
]);

/** BPF_MAP_*_ELEM, GET_NEXT_KEY (next_key shares value's slot). */
export const MAP_ELEM: Layout = layout(
  "BPF_MAP_*_ELEM",
  ["map_fd", "key", "value", "flags"],
  ["key", "value"],
);
export const MAP_NEXT_KEY: Layout = layout(
  "BPF_MAP_*_ELEM",
  ["map_fd", "key", "next_key"],
  ["key", "next_key"],
);

/** BPF_MAP_*_BATCH */
export const MAP_BATCH: Layout = layout(
  "batch",
  ["in_batch", "out_batch", "keys", "values", "count", "map_fd", "elem_flags", "flags"],
  ["in_batch", "out_batch", "keys", "values"],
);

export const PROG_LOAD: Layout = layout(
  "BPF_PROG_LOAD",
  [
    "prog_type",
    "insn_cnt",
    "insns",
    "license",
    "log_level",
    "log_size",
    "log_buf",
    "kern_version",
    "prog_flags",
    "prog_name",
    "prog_ifindex",
    "expected_attach_type",
    "prog_btf_fd",
    "func_info_rec_size",
    "func_info",
    "func_info_cnt",
    "line_info_rec_size",
    "line_info",
    "line_info_cnt",
    "attach_btf_id",
    // union { attach_prog_fd; attach_btf_obj_fd; }
    "attach_btf_obj_fd",
    "core_relo_cnt",
    "fd_array",
    "core_relos",
    "core_relo_rec_size",
    "log_true_size",
  ],
  ["insns", "license", "log_buf", "func_info", "line_info", "fd_array", "core_relos"],
);

/** BPF_OBJ_PIN / BPF_OBJ_GET */
export const OBJ: Layout = layout("BPF_OBJ_*", ["pathname", "bpf_fd", "file_flags"], ["pathname"]);

/** BPF_*_GET_NEXT_ID / BPF_*_GET_FD_BY_ID (start_id/prog_id/map_id/btf_id/link_id share offset 0) */
export const GET_ID: Layout = layout("BPF_*_GET_*_ID", ["start_id", "next_id", "open_flags"]);

export const OBJ_INFO: Layout = layout("info", ["bpf_fd", "info_len", "info"], ["info"]);

export const RAW_TRACEPOINT: Layout = layout("raw_tracepoint", ["name", "prog_fd"], ["name"]);

export const BTF_LOAD: Layout = layout(
  "BPF_BTF_LOAD",
  ["btf", "btf_log_buf", "btf_size", "btf_log_size", "btf_log_level", "btf_log_true_size"],
  ["btf", "btf_log_buf"],
);

/**
 * link_create: prog_fd, target_fd, attach_type, flags, then a union at 16:
 * target_btf_id | perf_event.bpf_cookie | tracing { target_btf_id; cookie } | iterators'
 * struct bpf_iter_link_info * and its size | tcx (6.6+) { relative_fd; expected_revision }.
 */
export const LINK_CREATE: Layout = layout(
  "link_create",
  [
    "prog_fd",
    "target_fd",
    "attach_type",
    "flags",
    "target_btf_id",
    "perf_event.bpf_cookie",
    "tracing.cookie",
    "iter_info",
    "iter_info_len",
    "tcx.relative_fd",
    "tcx.expected_revision",
  ],
  ["iter_info"],
);

/** BPF_PROG_ATTACH / BPF_PROG_DETACH (relative_fd and expected_revision are 6.6+). */
export const PROG_ATTACH: Layout = layout("BPF_PROG_ATTACH", [
  "target_fd",
  "attach_bpf_fd",
  "attach_type",
  "attach_flags",
  "replace_bpf_fd",
  "relative_fd",
  "expected_revision",
]);

/** BPF_PROG_QUERY */
export const PROG_QUERY: Layout = layout(
  "query",
  ["target_fd", "attach_type", "query_flags", "attach_flags", "prog_ids", "prog_cnt"],
  ["prog_ids"],
);

/** BPF_ITER_CREATE */
export const ITER_CREATE: Layout = layout("iter_create", ["link_fd", "flags"]);

/** link_create.kprobe_multi (5.18+): the union at 16 for attach_type BPF_TRACE_KPROBE_MULTI. */
export const LINK_CREATE_KPROBE_MULTI: Layout = layout(
  "link_create",
  [
    "prog_fd",
    "target_fd",
    "attach_type",
    "flags",
    "kprobe_multi.flags",
    "kprobe_multi.cnt",
    "kprobe_multi.syms",
    "kprobe_multi.addrs",
    "kprobe_multi.cookies",
  ],
  ["kprobe_multi.syms", "kprobe_multi.addrs", "kprobe_multi.cookies"],
);

export const PROG_TEST_RUN: Layout = layout(
  "test",
  [
    "prog_fd",
    "retval",
    "data_size_in",
    "data_size_out",
    "data_in",
    "data_out",
    "repeat",
    "duration",
    "ctx_size_in",
    "ctx_size_out",
    "ctx_in",
    "ctx_out",
    "flags",
    "cpu",
    "batch_size",
  ],
  ["data_in", "data_out", "ctx_in", "ctx_out"],
);

/** BPF_MAP_FREEZE */
export const MAP_FD_ONLY: Layout = layout("BPF_MAP_*_ELEM", ["map_fd"]);

export const LINK_DETACH: Layout = layout("link_detach", ["link_fd"]);

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
          addr = sys.address_of(b);
        } else if (v instanceof Uint8Array) {
          if (v.byteLength === 0) continue;
          keep.push(v);
          addr = sys.address_of(v);
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
