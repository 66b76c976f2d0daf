// Candidate target types for a local CO-RE type (libbpf bpf_core_find_cands /
// bpf_core_add_cands): every named target type whose essential name (flavor suffix
// stripped) equals the local one and whose kind is compatible. vmlinux is searched
// first; module BTFs only when vmlinux has no candidate. Lookups go through our
// hashed name index (below), so only the candidates themselves are materialised.
import type { Btf } from "../btf/btf.ts";
import { kindsCoreCompat } from "./compat.ts";
import { essentialName, essentialNameLen } from "./names.ts";

export interface Candidate {
  btf: Btf;
  id: number;
  name: string;
  /** Module name when the candidate comes from module BTF. */
  module?: string;
}

/**
 * What CO-RE relocates against: the target (the running kernel's vmlinux, or a BTF file
 * standing for it) and more BTF searched after it when the target has no candidate
 * (module BTF, cilium/ebpf's ExtraRelocationTargets). `memo` holds the resolutions made
 * against these targets (see resolve.ts); one TargetBtfs per load shares them across its
 * programs.
 */
export interface TargetBtfs {
  vmlinux: Btf;
  modules: { name: string; btf: Btf }[];
  memo?: CoreMemo;
}

/** Per local BTF: candidate lists and resolutions made against one TargetBtfs. */
export type CoreMemo = WeakMap<Btf, { cands: Map<number, Candidate[]>; res: Map<string, unknown> }>;

/** A TargetBtfs with a fresh memo. */
export function coreTargets(vmlinux: Btf, modules: { name: string; btf: Btf }[] = []): TargetBtfs {
  return { vmlinux, modules, memo: new WeakMap() };
}

/**
 * An essential-name → ids index for target BTF that avoids decoding every type name
 * (the Btf name index decodes ~150k strings for vmlinux, which dominates a cold CO-RE
 * run, where JS runs mostly in the interpreter). One pass files each candidate-able
 * type under a key: FNV-1a of the name bytes up to the NUL or the first "___". That key is the same for a name and its essential name
 * (a flavor separator can only be the first "___" at or after the essential end), so a
 * lookup hashes the wanted essential name and confirms each hit by decoding it.
 */
interface NameHashIndex {
  mask: number;
  /** Bucket → last id with that key (0 = empty); next[id - firstId] chains the rest. */
  table: Int32Array;
  next: Int32Array;
  cache: Map<string, number[]>;
}

const NAME_INDEX = Symbol("core name index");

function keyHash(bytes: Uint8Array, from: number): number {
  let h = 0x811c9dc5;
  // The string section ends in NUL (checked by the Btf parser), so this terminates.
  for (let i = from; ; i++) {
    const c = bytes[i] as number;
    if (c === 0 || (c === 0x5f && bytes[i + 1] === 0x5f && bytes[i + 2] === 0x5f)) break;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

/**
 * BTF_KIND_* that can carry a name and be a candidate, by kind number. The kernel's
 * btf_check_meta rejects a name on PTR, ARRAY, CONST, VOLATILE, RESTRICT and
 * FUNC_PROTO, and FUNC, VAR, DATASEC and DECL_TAG (most of vmlinux's names) never
 * match: libbpf's compat and match rules reject those kinds. So about 20k of vmlinux's
 * ~127k types are hashed; the rest cost one byte read each.
 */
const INDEXED_KINDS = new Uint8Array(32);
for (const k of [1, 4, 5, 6, 7, 8, 16, 18, 19]) INDEXED_KINDS[k] = 1; // INT STRUCT UNION ENUM FWD TYPEDEF FLOAT TYPE_TAG ENUM64

function nameIndex(btf: Btf): NameHashIndex {
  return btf.memo(NAME_INDEX, () => buildNameIndex(btf));
}

function buildNameIndex(btf: Btf): NameHashIndex {
  const kinds = btf.kindTable;
  const offsets = btf.offsetTable;
  const n = kinds.length;
  let size = 1024;
  while (size < n) size *= 2;
  const table = new Int32Array(size);
  const next = new Int32Array(n);
  const mask = size - 1;
  const dv = btf.dv;
  const own = btf.strings;
  const ownBytes = own.bytes;
  const ownStart = own.start;
  const base = btf.base?.strings;
  const firstId = btf.firstId;
  const indexed = INDEXED_KINDS;
  for (let i = 0; i < n; i++) {
    if (indexed[kinds[i] as number] === 0) continue;
    const off = dv.getUint32(offsets[i] as number, true);
    if (off === 0) continue;
    // keyHash stops at a NUL: an offset past the section (bad BTF, which nameOf
    // reports) would read undefined forever, so it is left out of the index.
    let bytes: Uint8Array;
    let j: number;
    if (off >= ownStart) {
      if (off - ownStart >= ownBytes.length) continue;
      bytes = ownBytes;
      j = off - ownStart;
    } else if (base && off >= base.start) {
      bytes = base.bytes;
      j = off - base.start;
    } else continue;
    // keyHash, inlined (keep the two in step): in a cold process a call per name
    // costs about as much as hashing the name.
    let h = 0x811c9dc5;
    for (; ; j++) {
      const c = bytes[j] as number;
      if (c === 0 || (c === 0x5f && bytes[j + 1] === 0x5f && bytes[j + 2] === 0x5f)) break;
      h = Math.imul(h ^ c, 0x01000193);
    }
    const b = (h >>> 0) & mask;
    next[i] = table[b] as number;
    table[b] = firstId + i;
  }
  return { mask, table, next, cache: new Map() };
}

/** Own ids of `btf` (not its base's) whose essential name is `ess`, ascending. */
function idsWithEssentialName(btf: Btf, ess: string): number[] {
  const idx = nameIndex(btf);
  const hit = idx.cache.get(ess);
  if (hit) return hit;
  const out: number[] = [];
  for (
    let id = idx.table[keyHash(Buffer.from(`${ess}\0`, "utf8"), 0) & idx.mask] as number;
    id !== 0;
    id = idx.next[id - btf.firstId] as number
  ) {
    const name = btf.nameOf(id);
    if (name.startsWith(ess) && essentialNameLen(name) === ess.length) out.push(id);
  }
  out.sort((a, b) => a - b);
  idx.cache.set(ess, out);
  return out;
}

function addFrom(
  btf: Btf,
  localKind: ReturnType<Btf["kind"]>,
  ess: string,
  out: Candidate[],
  module?: string,
): void {
  // Split BTF: only this module's own ids (the base was searched already).
  for (const id of idsWithEssentialName(btf, ess)) {
    const name = btf.nameOf(id);
    if (!kindsCoreCompat(localKind, btf.kind(id))) continue;
    out.push(module ? { btf, id, name, module } : { btf, id, name });
  }
}

export function findCandidates(local: Btf, localId: number, targets: TargetBtfs): Candidate[] {
  const name = local.nameOf(localId);
  const ess = essentialName(name);
  const kind = local.kind(localId);
  const out: Candidate[] = [];
  addFrom(targets.vmlinux, kind, ess, out);
  if (out.length > 0) return out;
  for (const m of targets.modules) addFrom(m.btf, kind, ess, out, m.name);
  return out;
}
