// Helper function ids → names: enum bpf_func_id (include/uapi/linux/bpf.h, generated into
// uapi.gen.ts from the kernel's BTF). Upstream froze the helper list at
// cgrp_storage_delete = 211 (new functionality is added as kfuncs).
import { bpf_func_id } from "../uapi.gen.ts";

/** HELPER_NAMES[id] is the helper name without the `bpf_` prefix; index 0 is `unspec`. */
export const HELPER_NAMES: readonly string[] = Object.entries(bpf_func_id)
  .sort((a, b) => a[1] - b[1])
  .map(([k]) => k.slice("BPF_FUNC_".length));

/** The last helper id this table knows (BPF_FUNC_cgrp_storage_delete). */
export const BPF_FUNC_MAX_KNOWN = HELPER_NAMES.length - 1;

/** `bpf_<name>` for a known helper id (e.g. 1 → "bpf_map_lookup_elem"), else undefined. */
export function helperName(id: number): string | undefined {
  if (!Number.isInteger(id) || id <= 0 || id >= HELPER_NAMES.length) return undefined;
  return `bpf_${HELPER_NAMES[id]}`;
}

/** Inverse of helperName: accepts "bpf_ktime_get_ns" or "ktime_get_ns". */
export function helperId(name: string): number | undefined {
  const bare = name.startsWith("bpf_") ? name.slice(4) : name;
  const id = HELPER_NAMES.indexOf(bare);
  return id > 0 ? id : undefined;
}
