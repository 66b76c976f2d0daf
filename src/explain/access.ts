// A CO-RE access string ("0:9", "0:21:3") spelled out index by index against one BTF,
// for `tsbpf explain`. The rule (libbpf relo_core.c bpf_core_parse_spec): the first
// index is pointer arithmetic on the root pointer (0 is the object it points to, p[0]);
// each later index is a member index of the struct/union reached so far, or an element
// index of an array. Enum relocations have one index, the enumerator; type relocations
// have just "0". The kernel's types have their own member order, so the same field has
// different indexes in the object and in the target (tgid: 0:9 locally, 0:93 in vmlinux).
import type { Btf } from "../btf/btf.ts";

/** One index of an access string and what it selects. */
export interface AccessStep {
  index: number;
  /** "[0]" for the root, ".tgid" for a member, "[3]" for an array element, "::PIDTYPE_SID" for an enumerator. */
  selects: string;
  /** Member or enumerator name; "" for an anonymous member (a nested struct/union). */
  name?: string;
}

/** What `0:9`-style strings mean: printed once, above the records that use them. */
export const ACCESS_STRING_LEGEND = [
  "An access string like 0:9 is read index by index: the first is pointer arithmetic on",
  "the root pointer (0 = the object it points to, p[0]); each later one is a member index",
  "of the struct/union reached so far (or an element index of an array). The kernel's",
  "struct has its own member order, so the chosen target has its own indexes for the same",
  "field. Enum records have one index (the enumerator); type records just 0.",
];

/**
 * The steps of `accessStr` walked from `typeId` in `btf`, or undefined when the string
 * does not fit the type (the CO-RE record already carries that error).
 */
export function accessSteps(
  btf: Btf,
  typeId: number,
  accessStr: string,
  kind: "field" | "enum" | "type",
): AccessStep[] | undefined {
  const raw = accessStr.split(":").map(Number);
  if (raw.some((x) => !Number.isInteger(x) || x < 0)) return undefined;
  try {
    if (kind === "type") return [{ index: raw[0] ?? 0, selects: "the type itself" }];
    let id = btf.resolve(typeId);
    if (kind === "enum") {
      const t = btf.type(id);
      if (t.kind !== "enum" && t.kind !== "enum64") return undefined;
      const v = t.values[raw[0] ?? 0];
      return v ? [{ index: raw[0] ?? 0, selects: `::${v.name}`, name: v.name }] : undefined;
    }
    const out: AccessStep[] = [{ index: raw[0] ?? 0, selects: `[${raw[0]}]` }];
    for (let i = 1; i < raw.length; i++) {
      id = btf.resolve(id);
      const t = btf.type(id);
      const idx = raw[i] as number;
      if (t.kind === "struct" || t.kind === "union") {
        const m = t.members[idx];
        if (!m) return undefined;
        out.push({
          index: idx,
          selects: m.name ? `.${m.name}` : `.(anonymous ${anonKind(btf, m.type)})`,
          name: m.name,
        });
        id = m.type;
      } else if (t.kind === "array") {
        out.push({ index: idx, selects: `[${idx}]` });
        id = t.type;
      } else return undefined;
    }
    return out;
  } catch {
    return undefined;
  }
}

function anonKind(btf: Btf, id: number): string {
  const k = btf.type(btf.resolve(id)).kind;
  return k === "struct" || k === "union" ? k : "member";
}

/** "[0] .tgid#9" style: each step with its index, for one line of text. */
export function formatSteps(steps: AccessStep[]): string {
  return steps
    .map((s, i) => (i === 0 || s.selects.startsWith("[") ? s.selects : `${s.selects}#${s.index}`))
    .join("");
}
