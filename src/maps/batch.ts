// Batch map operations (BPF_MAP_*_BATCH, kernel 5.6+) for BpfMap. Each returns
// undefined when the kernel does not support batching for this map, and the caller
// falls back to the per-key loop.

import type { MapSpec } from "../spec.ts";
import { mapDeleteBatch, mapLookupAndDeleteBatch, mapLookupBatch, SyscallError } from "../sys/bpf.ts";
import { ERRNO } from "../sys/errors.ts";

interface BatchTarget {
  readonly fd: number;
  readonly spec: MapSpec;
  readonly stride: number;
  readonly nValues: number;
}

/** errnos meaning "no batch ops here" (old kernel, or a map type without them). */
function unsupported(e: unknown): boolean {
  return (
    e instanceof SyscallError &&
    (e.errno === ERRNO.EINVAL ||
      e.errno === ERRNO.ENOTSUPP ||
      e.errno === ERRNO.EOPNOTSUPP ||
      e.errno === ERRNO.ENOSYS)
  );
}

/**
 * Walk the whole map with LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH) and hand each
 * chunk to `decode`. Hash maps fail a chunk with ENOSPC when one bucket holds more
 * entries than `count`: the chunk size then doubles and the same cursor is retried.
 */
export function batchEntries<T>(
  m: BatchTarget,
  andDelete: boolean,
  decode: (b: { keys: Uint8Array; values: Uint8Array; count: number }) => T[],
): T[] | undefined {
  const ks = m.spec.keySize;
  const vs = m.stride * m.nValues;
  // The cursor is a u32 bucket/index for hash and array maps, a key for others: size it for both.
  const cursorSize = Math.max(ks, 8);
  let inBatch: Uint8Array | null = null;
  let outBatch = new Uint8Array(new ArrayBuffer(cursorSize));
  let chunk = Math.max(1, Math.min(m.spec.maxEntries || 64, 256));
  const out: T[] = [];
  let first = true;
  for (;;) {
    const keys = new Uint8Array(new ArrayBuffer(chunk * ks));
    const values = new Uint8Array(new ArrayBuffer(chunk * vs));
    let r: { count: number; done: boolean };
    try {
      const args = { inBatch, outBatch, keys, values, count: chunk };
      r = andDelete ? mapLookupAndDeleteBatch(m.fd, args) : mapLookupBatch(m.fd, args);
    } catch (e) {
      if (e instanceof SyscallError && e.errno === ERRNO.ENOSPC && chunk < 1 << 20) {
        chunk *= 2;
        continue;
      }
      if (first && unsupported(e)) return undefined;
      throw e;
    }
    first = false;
    out.push(...decode({ keys, values, count: r.count }));
    if (r.done) return out;
    inBatch = outBatch;
    outBatch = new Uint8Array(new ArrayBuffer(cursorSize));
  }
}

/** DELETE_BATCH of `count` packed keys → number deleted, or undefined when unsupported. */
export function batchDelete(m: BatchTarget, keys: Uint8Array, count: number): number | undefined {
  if (count === 0) return 0;
  try {
    return mapDeleteBatch(m.fd, { keys, count }).count;
  } catch (e) {
    if (unsupported(e)) return undefined;
    throw e;
  }
}
