// Matching a local CO-RE spec against one candidate target type (libbpf relo_core.c
// bpf_core_spec_match, bpf_core_match_member) and the stricter TYPE_MATCHES relation
// (bpf_core_types_match: names, sizes, signedness, every local member/enumerator must
// exist in the target).
import type { Btf } from "../btf/btf.ts";
import { BPF_CORE } from "../btf/ext.ts";
import { fieldsAreCompat, isAnyEnum, typesAreCompat } from "./compat.ts";
import { essentialNameLen, namesMatch } from "./names.ts";
import {
  CORE_SPEC_MAX_LEN,
  type CoreAccessor,
  type CoreSpec,
  isEnumKind,
  isFieldKind,
  isFlexArray,
} from "./spec.ts";

const MAX_DEPTH = 32;

/** TYPE_MATCHES: true when the target type matches the local one by libbpf's rules. */
export function typesMatch(
  lb: Btf,
  localId: number,
  tb: Btf,
  targId: number,
  behindPtr = false,
  level = MAX_DEPTH,
): boolean {
  if (level <= 0) return false;
  let l = localId;
  let t = targId;
  for (let depth = MAX_DEPTH; depth > 0; depth--) {
    // Typedefs and modifiers are skipped at every level before the names are compared
    // (libbpf __bpf_core_types_match): a member `int pid` matches the kernel's `pid_t
    // pid`. A root typedef is still matched by name, by the candidate lookup that chose
    // targId from the local type's essential name.
    l = lb.resolve(l);
    t = tb.resolve(t);
    if (!namesMatch(lb.nameOf(l), tb.nameOf(t))) return false;
    const lt = lb.type(l);
    const tt = tb.type(t);
    switch (lt.kind) {
      case "void":
        return tt.kind === "void";
      case "fwd":
        if (behindPtr) {
          if (tt.kind === "fwd") return lt.union === tt.union;
          // A forward declaration's kind_flag says struct (0) or union (1).
          return (tt.kind === "struct" && !lt.union) || (tt.kind === "union" && lt.union);
        }
        return tt.kind === "fwd" && lt.union === tt.union;
      case "enum":
      case "enum64": {
        if (tt.kind !== "enum" && tt.kind !== "enum64") return false;
        if (lt.size !== tt.size || lt.values.length > tt.values.length) return false;
        const tnames = tt.values.map((v) => v.name);
        return lt.values.every((v) => tnames.some((n) => namesMatch(v.name, n)));
      }
      case "struct":
      case "union": {
        if (behindPtr) {
          if (lt.kind === tt.kind) return true;
          return tt.kind === "fwd" && (lt.kind === "union") === tt.union;
        }
        if (lt.kind !== tt.kind) return false;
        if (lt.members.length > tt.members.length) return false;
        for (const lm of lt.members) {
          const found = tt.members.some(
            (tm) =>
              namesMatch(lm.name, tm.name) && typesMatch(lb, lm.type, tb, tm.type, behindPtr, level - 1),
          );
          if (!found) return false;
        }
        return true;
      }
      case "int":
        return tt.kind === "int" && lt.size === tt.size && lt.signed === tt.signed;
      case "ptr":
        if (tt.kind !== "ptr") return false;
        behindPtr = true;
        l = lt.type;
        t = tt.type;
        continue;
      case "array":
        if (tt.kind !== "array" || lt.nelems !== tt.nelems) return false;
        l = lt.type;
        t = tt.type;
        continue;
      case "func_proto": {
        if (tt.kind !== "func_proto" || lt.params.length !== tt.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          const a = (lt.params[i] as { type: number }).type;
          const b = (tt.params[i] as { type: number }).type;
          if (!typesMatch(lb, a, tb, b, behindPtr, level - 1)) return false;
        }
        l = lt.returnType;
        t = tt.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  return false;
}

/**
 * Finds the local named member in the target composite `targId`, descending into
 * anonymous members; on success appends the raw indexes and accessor to `spec` and
 * returns the member's type id.
 */
function matchMember(
  local: Btf,
  acc: CoreAccessor,
  tb: Btf,
  targId: number,
  spec: CoreSpec,
): number | undefined {
  const lt = local.type(acc.typeId);
  if (lt.kind !== "struct" && lt.kind !== "union") return undefined;
  const lm = lt.members[acc.idx];
  if (!lm) return undefined;
  const tid = tb.resolve(targId);
  const tt = tb.type(tid);
  if (tt.kind !== "struct" && tt.kind !== "union") return undefined;
  for (let i = 0; i < tt.members.length; i++) {
    const m = tt.members[i] as (typeof tt.members)[number];
    if (spec.raw.length >= CORE_SPEC_MAX_LEN) throw new Error(`nesting deeper than ${CORE_SPEC_MAX_LEN}`);
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === "") {
      const found = matchMember(local, acc, tb, m.type, spec);
      if (found !== undefined) return found;
    } else if (m.name === lm.name) {
      if (!fieldsAreCompat(local, lm.type, tb, m.type)) {
        spec.bitOffset -= m.bitOffset;
        spec.raw.pop();
        return undefined;
      }
      spec.access.push({ typeId: tid, idx: i, name: m.name });
      return m.type;
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return undefined;
}

/** Matches `local` against candidate `targId`; the target spec, or undefined when it does not match. */
export function specMatch(local: CoreSpec, tb: Btf, targId: number): CoreSpec | undefined {
  const spec: CoreSpec = { btf: tb, rootTypeId: targId, kind: local.kind, raw: [], access: [], bitOffset: 0 };
  const lb = local.btf;
  if (!isFieldKind(local.kind) && !isEnumKind(local.kind)) {
    const ok =
      local.kind === BPF_CORE.TYPE_MATCHES
        ? typesMatch(lb, local.rootTypeId, tb, targId)
        : typesAreCompat(lb, local.rootTypeId, tb, targId);
    return ok ? spec : undefined;
  }
  if (isEnumKind(local.kind)) {
    const tid = tb.resolve(targId);
    const tt = tb.type(tid);
    if (!isAnyEnum(tt.kind) || (tt.kind !== "enum" && tt.kind !== "enum64")) return undefined;
    const lname = (local.access[0] as CoreAccessor).name ?? "";
    const n = essentialNameLen(lname);
    for (let i = 0; i < tt.values.length; i++) {
      const name = (tt.values[i] as { name: string }).name;
      if (essentialNameLen(name) === n && name.slice(0, n) === lname.slice(0, n)) {
        spec.access.push({ typeId: tid, idx: i, name });
        spec.raw.push(i);
        return spec;
      }
    }
    return undefined;
  }
  let tid = targId;
  for (let i = 0; i < local.access.length; i++) {
    const acc = local.access[i] as CoreAccessor;
    tid = tb.resolve(tid);
    if (acc.name !== undefined) {
      const next = matchMember(lb, acc, tb, tid, spec);
      if (next === undefined) return undefined;
      tid = next;
      continue;
    }
    // Array step (the root counts as one: the candidate itself is the element type).
    if (i > 0) {
      const arr = tb.type(tid);
      if (arr.kind !== "array") return undefined;
      const flex = isFlexArray(tb, spec.access[spec.access.length - 1], arr);
      if (!flex && acc.idx >= arr.nelems) return undefined;
      tid = tb.resolve(arr.type);
    }
    if (spec.raw.length >= CORE_SPEC_MAX_LEN) throw new Error(`nesting deeper than ${CORE_SPEC_MAX_LEN}`);
    spec.access.push({ typeId: tid, idx: acc.idx });
    spec.raw.push(acc.idx);
    spec.bitOffset += acc.idx * tb.sizeof(tid) * 8;
  }
  return spec;
}
