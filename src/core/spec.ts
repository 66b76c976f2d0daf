// A CO-RE access specification: the parsed form of a relocation's access string
// against one BTF (libbpf relo_core.c bpf_core_parse_spec). The first index steps
// through the root pointer like `p[i]`; later indexes are member indexes through
// structs/unions (anonymous members leave no named accessor) and element indexes
// through arrays. For enum relocations the single index names an enumerator.
import type { Btf } from "../btf/btf.ts";
import { BPF_CORE } from "../btf/ext.ts";
import type { BtfArray } from "../btf/types.ts";

/** libbpf's BPF_CORE_SPEC_MAX_LEN: nesting limit for struct/union/array access. */
export const CORE_SPEC_MAX_LEN = 64;

export interface CoreAccessor {
  /** The struct/union holding the member, or the element type for array accessors. */
  typeId: number;
  idx: number;
  /** Member or enumerator name; undefined for array (and root) accessors. */
  name?: string;
}

export interface CoreSpec {
  btf: Btf;
  rootTypeId: number;
  kind: number;
  /** The indexes as written (target specs: the indexes found in the target). */
  raw: number[];
  /** Named (or array) steps only: anonymous members are folded away. */
  access: CoreAccessor[];
  /** Offset of the accessed field from the root pointer, in bits. */
  bitOffset: number;
}

export class CoreSpecError extends Error {}

export function isFieldKind(kind: number): boolean {
  return kind <= BPF_CORE.FIELD_RSHIFT_U64;
}
export function isTypeKind(kind: number): boolean {
  return (
    kind === BPF_CORE.TYPE_ID_LOCAL ||
    kind === BPF_CORE.TYPE_ID_TARGET ||
    kind === BPF_CORE.TYPE_EXISTS ||
    kind === BPF_CORE.TYPE_SIZE ||
    kind === BPF_CORE.TYPE_MATCHES
  );
}
export function isEnumKind(kind: number): boolean {
  return kind === BPF_CORE.ENUMVAL_EXISTS || kind === BPF_CORE.ENUMVAL_VALUE;
}

/** The array is a flexible last member (`T x[]`) of the struct the previous accessor named. */
export function isFlexArray(btf: Btf, prev: CoreAccessor | undefined, arr: BtfArray): boolean {
  if (!prev || prev.name === undefined || arr.nelems > 0) return false;
  const t = btf.type(prev.typeId);
  return (t.kind === "struct" || t.kind === "union") && prev.idx === t.members.length - 1;
}

function specFail(accessStr: string, msg: string): never {
  throw new CoreSpecError(`access string "${accessStr}": ${msg}`);
}

/** "0:1:2" → [0, 1, 2]; no closures on this hot path (cold processes pay for each). */
function parseIndexes(accessStr: string): number[] {
  if (accessStr === "") specFail(accessStr, "empty");
  const parts = accessStr.split(":");
  const raw = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (!/^\d+$/.test(p)) specFail(accessStr, `"${p}" is not an index`);
    raw[i] = Number(p);
  }
  return raw;
}

export function parseSpec(btf: Btf, typeId: number, accessStr: string, kind: number): CoreSpec {
  const fail = specFail.bind(undefined, accessStr) as (msg: string) => never;
  const raw = parseIndexes(accessStr);
  if (raw.length > CORE_SPEC_MAX_LEN) fail(`more than ${CORE_SPEC_MAX_LEN} steps`);
  const spec: CoreSpec = { btf, rootTypeId: typeId, kind, raw, access: [], bitOffset: 0 };
  if (isTypeKind(kind)) {
    // Type relocations name a type, not a field: the only valid access string is "0".
    if (accessStr !== "0") fail(`type-based relocation expects "0"`);
    return spec;
  }
  let id = btf.resolve(typeId);
  const t = btf.type(id);
  const first = raw[0] as number;
  if (isEnumKind(kind)) {
    if (t.kind !== "enum" && t.kind !== "enum64") fail(`enum relocation on ${t.kind} type #${id}`);
    const vals = (t as { values: { name: string }[] }).values;
    if (raw.length > 1 || first >= vals.length)
      fail(`enumerator #${first} does not exist (${vals.length} values)`);
    spec.access.push({ typeId: id, idx: first, name: (vals[first] as { name: string }).name });
    return spec;
  }
  if (!isFieldKind(kind)) fail(`unknown relocation kind ${kind}`);
  spec.access.push({ typeId: id, idx: first });
  spec.bitOffset = first * sizeOrFail(btf, id, fail) * 8;
  for (let i = 1; i < raw.length; i++) {
    id = btf.resolve(id);
    const cur = btf.type(id);
    const idx = raw[i] as number;
    if (cur.kind === "struct" || cur.kind === "union") {
      const m = cur.members[idx];
      if (!m) fail(`member #${idx} of ${cur.kind} #${id} does not exist (${cur.members.length} members)`);
      const mm = m as (typeof cur.members)[number];
      spec.bitOffset += mm.bitOffset;
      if (mm.name !== "") spec.access.push({ typeId: id, idx, name: mm.name });
      id = mm.type;
    } else if (cur.kind === "array") {
      const elem = btf.resolve(cur.type);
      const flex = isFlexArray(btf, spec.access[spec.access.length - 1], cur);
      if (!flex && idx >= cur.nelems)
        fail(`index ${idx} past the end of array #${id} (${cur.nelems} elements)`);
      spec.access.push({ typeId: elem, idx });
      spec.bitOffset += idx * sizeOrFail(btf, elem, fail) * 8;
      id = elem;
    } else {
      fail(`step #${i} goes into ${cur.kind} #${id}, which has neither members nor elements`);
    }
  }
  return spec;
}

function sizeOrFail(btf: Btf, id: number, fail: (m: string) => never): number {
  try {
    return btf.sizeof(id);
  } catch (e) {
    return fail(`type #${id} has no size (${(e as Error).message})`);
  }
}
