// Raw BTF layout: the header and the size of each type record, from
// include/uapi/linux/btf.h. Every record is a 12-byte `struct btf_type` followed by
// kind-specific data whose size depends on the kind and on vlen.
import { BTF_KIND } from "./types.ts";

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** sizeof(struct btf_header) for version 1. */
export const BTF_HEADER_LEN = 24;
export const BTF_TYPE_LEN = 12;
/** BTF_MAX_VLEN: vlen is 16 bits in `info`. */
export const BTF_MAX_VLEN = 0xffff;

/**
 * Per BTF_KIND_*: bytes after the 12-byte btf_type are FIXED[kind] + PER_VLEN[kind] * vlen
 * (-1 in FIXED marks an unknown kind). INT/VAR/DECL_TAG carry one u32, ARRAY a
 * btf_array; STRUCT/UNION (btf_member), DATASEC (btf_var_secinfo) and ENUM64 take 12
 * bytes per vlen, ENUM (btf_enum) and FUNC_PROTO (btf_param) 8.
 */
export const EXTRA_FIXED = new Int8Array([-1, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0]);
export const EXTRA_PER_VLEN = new Uint8Array([
  0, 0, 0, 0, 12, 12, 8, 0, 0, 0, 0, 0, 0, 8, 0, 12, 0, 0, 0, 12,
]);
// Sanity: the tables follow the BTF_KIND numbering of types.ts.
if (EXTRA_PER_VLEN[BTF_KIND.ENUM64] !== 12 || EXTRA_FIXED[BTF_KIND.DECL_TAG] !== 4) {
  throw new Error("layout tables out of sync with BTF_KIND");
}

/** Bytes that follow the 12-byte btf_type for this kind, or -1 for an unknown kind. */
export function extraBytes(kind: number, vlen: number): number {
  if (kind >= EXTRA_FIXED.length || EXTRA_FIXED[kind] < 0) return -1;
  return EXTRA_FIXED[kind] + EXTRA_PER_VLEN[kind] * vlen;
}

/** BTF_INT_ENCODING bits of the INT record's trailing u32. */
export const BTF_INT_SIGNED = 1 << 0;
export const BTF_INT_CHAR = 1 << 1;
export const BTF_INT_BOOL = 1 << 2;
