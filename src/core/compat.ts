// Type compatibility for CO-RE candidates and fields (libbpf relo_core.c
// bpf_core_types_are_compat / bpf_core_fields_are_compat). Deliberately loose:
// names decide identity, so structs are compatible with structs regardless of
// members, ints with ints of any size; only the "shape" of the type chain counts.
import type { Btf } from "../btf/btf.ts";
import type { BtfKindName } from "../btf/types.ts";
import { essentialNameLen } from "./names.ts";

/** Bound on pointer/array/func_proto chains, as libbpf's recursion depth of 32. */
const MAX_DEPTH = 32;

export function isAnyEnum(k: BtfKindName): boolean {
  return k === "enum" || k === "enum64";
}
export function isComposite(k: BtfKindName): boolean {
  return k === "struct" || k === "union";
}

/** Same kind, or enum vs enum64 (libbpf btf_kind_core_compat). */
export function kindsCoreCompat(a: BtfKindName, b: BtfKindName): boolean {
  return a === b || (isAnyEnum(a) && isAnyEnum(b));
}

function intOffset(btf: Btf, id: number): number {
  const t = btf.type(id);
  return t.kind === "int" ? t.bitsOffset : 0;
}

function sameEssentialName(la: string, lb: string): boolean {
  const na = essentialNameLen(la);
  const nb = essentialNameLen(lb);
  return na === 0 || nb === 0 || (na === nb && la.slice(0, na) === lb.slice(0, nb));
}

/** Is the target type an acceptable stand-in for the local root type? 1 yes, 0 no. */
export function typesAreCompat(
  lb: Btf,
  localId: number,
  tb: Btf,
  targId: number,
  level = MAX_DEPTH,
): boolean {
  if (!kindsCoreCompat(lb.kind(localId), tb.kind(targId))) return false;
  let l = localId;
  let t = targId;
  for (let depth = MAX_DEPTH; depth > 0; depth--) {
    l = lb.resolve(l);
    t = tb.resolve(t);
    const lk = lb.kind(l);
    const tk = tb.kind(t);
    if (!kindsCoreCompat(lk, tk)) return false;
    switch (lk) {
      case "void":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "fwd":
        return true;
      case "int":
        // Only the deprecated bitfield-like ints (non-zero offset) are refused.
        return intOffset(lb, l) === 0 && intOffset(tb, t) === 0;
      case "ptr": {
        l = (lb.type(l) as { type: number }).type;
        t = (tb.type(t) as { type: number }).type;
        continue;
      }
      case "array": {
        l = (lb.type(l) as { type: number }).type;
        t = (tb.type(t) as { type: number }).type;
        continue;
      }
      case "func_proto": {
        const lp = lb.type(l);
        const tp = tb.type(t);
        if (lp.kind !== "func_proto" || tp.kind !== "func_proto") return false;
        if (lp.params.length !== tp.params.length) return false;
        for (let i = 0; i < lp.params.length; i++) {
          if (level <= 0) return false;
          const a = lb.resolve((lp.params[i] as { type: number }).type);
          const b = tb.resolve((tp.params[i] as { type: number }).type);
          if (!typesAreCompat(lb, a, tb, b, level - 1)) return false;
        }
        l = lp.returnType;
        t = tp.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  return false;
}

/** Can a local member of type `localId` be read from a target member of type `targId`? */
export function fieldsAreCompat(lb: Btf, localId: number, tb: Btf, targId: number): boolean {
  let l = localId;
  let t = targId;
  for (let depth = MAX_DEPTH; depth > 0; depth--) {
    l = lb.resolve(l);
    t = tb.resolve(t);
    const lk = lb.kind(l);
    const tk = tb.kind(t);
    if (isComposite(lk) && isComposite(tk)) return true;
    if (!kindsCoreCompat(lk, tk)) return false;
    switch (lk) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum":
      case "enum64":
        return sameEssentialName(lb.nameOf(l), tb.nameOf(t));
      case "int":
        return intOffset(lb, l) === 0 && intOffset(tb, t) === 0;
      case "array":
        l = (lb.type(l) as { type: number }).type;
        t = (tb.type(t) as { type: number }).type;
        continue;
      default:
        return false;
    }
  }
  return false;
}
