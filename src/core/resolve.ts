// Resolves one CO-RE record to the value its instruction must carry (libbpf
// relo_core.c bpf_core_calc_relo_insn + bpf_core_calc_relo): parse the local spec,
// match it against every candidate, require all matches to agree, and fall back to
// the "not found" value (0 for existence/type checks, poison otherwise).
import type { Btf } from "../btf/btf.ts";
import type { CoreRelo } from "../btf/ext.ts";
import { BPF_CORE } from "../btf/ext.ts";
import { type Candidate, findCandidates, type TargetBtfs } from "./candidates.ts";
import { calcEnumValue, calcFieldValue, calcTypeValue } from "./fields.ts";
import { specMatch } from "./match.ts";
import { type CoreSpec, isEnumKind, isFieldKind, parseSpec } from "./spec.ts";

export interface CoreReloRes {
  /** Value the instruction carries now (computed from the local type). */
  origVal: bigint;
  /** Value to patch in (from the target type). */
  newVal: bigint;
  poison: boolean;
  validate: boolean;
  /** Load/store size must change but cannot safely (not pointer→pointer or unsigned int→int). */
  failMemszAdjust: boolean;
  origSz: number;
  newSz: number;
}

export interface CoreResolution {
  localSpec: CoreSpec;
  candidates: Candidate[];
  /** The first matching candidate and its spec. */
  chosen?: Candidate;
  targetSpec?: CoreSpec;
  res: CoreReloRes;
}

/** A relocation that cannot be resolved at all: the load fails (libbpf returns -EINVAL). */
export class CoreResolveError extends Error {}

/**
 * The memo tables for one local BTF against `targets` (libbpf's per-object cand_cache,
 * plus resolutions), or fresh ones when the targets carry no memo.
 */
function memoFor(
  local: Btf,
  targets: TargetBtfs,
): { cands: Map<number, Candidate[]>; res: Map<string, unknown> } {
  let m = targets.memo?.get(local);
  if (!m) {
    m = { cands: new Map(), res: new Map() };
    targets.memo?.set(local, m);
  }
  return m;
}

function cachedCandidates(local: Btf, localId: number, targets: TargetBtfs): Candidate[] {
  const m = memoFor(local, targets).cands;
  let c = m.get(localId);
  if (!c) {
    c = findCandidates(local, localId, targets);
    m.set(localId, c);
  }
  return c;
}

function calcRes(kind: number, local: CoreSpec, target: CoreSpec | undefined): CoreReloRes {
  const res: CoreReloRes = {
    origVal: 0n,
    newVal: 0n,
    poison: false,
    validate: true,
    failMemszAdjust: false,
    origSz: 0,
    newSz: 0,
  };
  if (isFieldKind(kind)) {
    const lv = calcFieldValue(kind, local);
    const tv = calcFieldValue(kind, target);
    if (!lv) throw new CoreResolveError("local field value cannot be computed");
    res.origVal = lv.value;
    res.validate = lv.validate;
    res.origSz = lv.size;
    if (!tv) {
      res.poison = true;
      return res;
    }
    res.newVal = tv.value;
    res.newSz = tv.size;
    if (res.origSz !== res.newSz && target) {
      const lt = local.btf.type(lv.typeId);
      const tt = target.btf.type(tv.typeId);
      // Only pointers (32-bit kernels) and unsigned integers may be read with another width.
      const ptrs = lt.kind === "ptr" && tt.kind === "ptr";
      const uints = lt.kind === "int" && tt.kind === "int" && !lt.signed && !tt.signed;
      if (!ptrs && !uints) res.failMemszAdjust = true;
    }
  } else if (isEnumKind(kind)) {
    res.origVal = calcEnumValue(kind, local) ?? 0n;
    const nv = calcEnumValue(kind, target);
    if (nv === undefined) res.poison = true;
    else res.newVal = nv;
  } else {
    const lv = calcTypeValue(kind, local);
    res.origVal = lv.value;
    res.validate = lv.validate;
    res.newVal = calcTypeValue(kind, target).value;
  }
  return res;
}

/**
 * Resolutions by (kind, local type id, access string), per local/target BTF pair:
 * an object repeats the same field accesses across programs (process.bpf.o: 211
 * records, 42 distinct), and a resolution depends on nothing else but the candidate
 * list, which can only shrink (see below). `cands` is the list length when resolved.
 */
export function resolveCoreRelo(local: Btf, relo: CoreRelo, targets: TargetBtfs): CoreResolution {
  if (relo.kind === BPF_CORE.TYPE_ID_LOCAL) return resolveUncached(local, relo, targets);
  const memo = memoFor(local, targets).res as Map<string, { r: CoreResolution; cands: number }>;
  const key = `${relo.kind}:${relo.typeId}:${relo.accessStr}`;
  const hit = memo.get(key);
  if (hit) {
    // A later record may have narrowed this type's candidates since; the answer then
    // comes from the narrowed list, as it would without the memo.
    const cands = cachedCandidates(local, relo.typeId, targets);
    if (cands.length === hit.cands) return { ...hit.r, candidates: [...cands] };
  }
  const r = resolveUncached(local, relo, targets);
  memo.set(key, { r, cands: r.candidates.length });
  return r;
}

function resolveUncached(local: Btf, relo: CoreRelo, targets: TargetBtfs): CoreResolution {
  let localSpec: CoreSpec;
  try {
    localSpec = parseSpec(local, relo.typeId, relo.accessStr, relo.kind);
  } catch (e) {
    throw new CoreResolveError(`bad local spec for type #${relo.typeId}: ${(e as Error).message}`);
  }
  if (relo.kind === BPF_CORE.TYPE_ID_LOCAL) {
    // Needs no target: the id of the type in the program's own BTF.
    const v = BigInt(relo.typeId);
    return {
      localSpec,
      candidates: [],
      res: {
        origVal: v,
        newVal: v,
        poison: false,
        validate: false,
        failMemszAdjust: false,
        origSz: 0,
        newSz: 0,
      },
    };
  }
  if (local.nameOf(relo.typeId) === "") {
    throw new CoreResolveError(`local type #${relo.typeId} is anonymous: candidates are found by name`);
  }
  const cands = cachedCandidates(local, relo.typeId, targets);
  const all = [...cands];
  const matched: Candidate[] = [];
  let chosen: Candidate | undefined;
  let targetSpec: CoreSpec | undefined;
  let res: CoreReloRes | undefined;
  for (const c of cands) {
    let spec: CoreSpec | undefined;
    try {
      spec = specMatch(localSpec, c.btf, c.id);
    } catch (e) {
      throw new CoreResolveError(`matching candidate [${c.id}] ${c.name}: ${(e as Error).message}`);
    }
    if (!spec) continue;
    const r = calcRes(relo.kind, localSpec, spec);
    if (!res || !targetSpec) {
      res = r;
      targetSpec = spec;
      chosen = c;
    } else {
      if (spec.bitOffset !== targetSpec.bitOffset) {
        throw new CoreResolveError(
          `field offset ambiguity: candidates [${chosen?.id}] ${chosen?.name} and [${c.id}] ${c.name} put the field at bit ${targetSpec.bitOffset} and ${spec.bitOffset}`,
        );
      }
      if (r.poison !== res.poison || r.newVal !== res.newVal) {
        throw new CoreResolveError(
          `ambiguous: candidates [${chosen?.id}] ${chosen?.name} and [${c.id}] ${c.name} give different values (${res.newVal} != ${r.newVal})`,
        );
      }
    }
    matched.push(c);
  }
  if (matched.length > 0) {
    // Later records for this local type only consider what matched here (as libbpf).
    cands.splice(0, cands.length, ...matched);
  }
  if (!res) res = calcRes(relo.kind, localSpec, undefined);
  return { localSpec, candidates: all, chosen, targetSpec, res };
}
