// The one pass over a BTF type section that Btf.parse makes: the byte offset and
// BTF_KIND_* of every record, and nothing else (types are decoded lazily). Each
// record is a 12-byte struct btf_type plus kind data whose size depends on the kind
// and vlen (layout.ts, include/uapi/linux/btf.h).
//
// vmlinux has ~127k records and this runs in a cold process, mostly in V8's
// interpreter, where every operation per record counts. So the usual path reads
// 32-bit words (one typed-array load per record instead of a DataView call) with one
// table lookup for the record size, and leaves every check but "known kind, fits in
// the section" to the validating loop, which takes over at the first record that
// fails one and reports it.
import { BtfError } from "./errors.ts";
import { BTF_TYPE_LEN, EXTRA_FIXED, EXTRA_PER_VLEN } from "./layout.ts";
import { BTF_KIND_NAMES } from "./types.ts";

export interface TypeTables {
  /** Absolute byte offset of each record in the BTF blob, by id - firstId. */
  offsets: Int32Array;
  /** BTF_KIND_* of each record, by id - firstId. */
  kinds: Uint8Array;
}

/**
 * Record size in 32-bit words by kind: (3 + fixed words) | (words per vlen) << 8; 0
 * for an unknown kind. Every BTF kind's data is a multiple of 4 bytes.
 */
const RECORD_WORDS = new Uint16Array(32);
for (let k = 0; k < EXTRA_FIXED.length; k++) {
  const fixed = EXTRA_FIXED[k] as number;
  if (fixed >= 0) RECORD_WORDS[k] = (3 + fixed / 4) | (((EXTRA_PER_VLEN[k] as number) / 4) << 8);
}

/** Uint32Array reads the host's byte order; BTF here is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function scanTypes(
  bytes: Uint8Array,
  dv: DataView,
  start: number,
  end: number,
  firstId: number,
  name: string,
): TypeTables {
  const maxTypes = Math.floor((end - start) / BTF_TYPE_LEN);
  const offsets = new Int32Array(maxTypes);
  const kinds = new Uint8Array(maxTypes);
  let n = 0;
  let p = start;
  if (LITTLE_ENDIAN && (bytes.byteOffset + start) % 4 === 0 && (end - start) % 4 === 0) {
    const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset + start, (end - start) >>> 2);
    const words = RECORD_WORDS;
    const last = u32.length;
    let w = 0;
    while (w < last) {
      // Past the end this reads undefined, i.e. kind 0: the validating loop reports it.
      const info = u32[w + 1] as number;
      const kind = (info >>> 24) & 0x1f;
      const size = words[kind] as number;
      if (size === 0) break;
      const next = w + (size & 0xff) + (size >>> 8) * (info & 0xffff);
      if (next > last) break;
      offsets[n] = start + w * 4;
      kinds[n] = kind;
      n++;
      w = next;
    }
    p = start + w * 4;
  }
  // The validating loop: bounds, kind, then vlen, with a message for each.
  const fixedTab = EXTRA_FIXED;
  const perVlenTab = EXTRA_PER_VLEN;
  const nKinds = fixedTab.length;
  while (p < end) {
    const id = firstId + n;
    if (end - p < 12) {
      throw new BtfError(name, `truncated type record (${end - p} bytes left, expected ≥ 12)`, {
        typeId: id,
        offset: p,
      });
    }
    const info = dv.getUint32(p + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const fixed = kind < nKinds ? (fixedTab[kind] as number) : -1;
    if (fixed < 0) {
      throw new BtfError(name, `unknown kind ${kind} (expected 1..${BTF_KIND_NAMES.length - 1})`, {
        typeId: id,
        offset: p,
      });
    }
    const extra = fixed + (perVlenTab[kind] as number) * (info & 0xffff);
    if (extra > end - p - 12) {
      throw new BtfError(
        name,
        `vlen ${info & 0xffff} of ${BTF_KIND_NAMES[kind]} runs past end of type section (needs ${extra} bytes, ${end - p - BTF_TYPE_LEN} left)`,
        { typeId: id, offset: p },
      );
    }
    offsets[n] = p;
    kinds[n] = kind;
    n++;
    p += 12 + extra; // sizeof(struct btf_type) + kind data
  }
  return { offsets: offsets.subarray(0, n), kinds: kinds.subarray(0, n) };
}
