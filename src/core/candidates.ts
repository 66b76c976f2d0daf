// Candidate target types for a local CO-RE type (libbpf bpf_core_find_cands /
// bpf_core_add_cands): every named target type whose essential name (flavor suffix
// stripped) equals the local one and whose kind is compatible. vmlinux is searched
// first; module BTFs only when vmlinux has no candidate. Lookups go through the Btf
// name index, so only the candidates themselves are materialised.
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

export interface TargetBtfs {
  vmlinux: Btf;
  modules: { name: string; btf: Btf }[];
}

/** Per target BTF: essential name → full names that carry a `___flavor` suffix. */
const flavoredIndex = new WeakMap<Btf, Map<string, string[]>>();

function flavoredNames(btf: Btf): Map<string, string[]> {
  let idx = flavoredIndex.get(btf);
  if (idx) return idx;
  idx = new Map();
  // Scan the raw string section for "___" rather than every type name: flavored
  // names are rare in kernel BTF and this costs one byte search.
  const bytes = btf.strings.bytes;
  const seen = new Set<number>();
  for (let p = bytes.indexOf(0x5f); p >= 0; p = bytes.indexOf(0x5f, p + 1)) {
    if (bytes[p + 1] !== 0x5f || bytes[p + 2] !== 0x5f) continue;
    let s = p;
    while (s > 0 && bytes[s - 1] !== 0) s--;
    if (seen.has(s)) continue;
    seen.add(s);
    const name = btf.strings.get(btf.strings.start + s);
    const ess = essentialName(name);
    if (ess === name || ess === "") continue;
    const list = idx.get(ess);
    if (list) list.push(name);
    else idx.set(ess, [name]);
  }
  flavoredIndex.set(btf, idx);
  return idx;
}

function addFrom(
  btf: Btf,
  localKind: ReturnType<Btf["kind"]>,
  ess: string,
  out: Candidate[],
  module?: string,
): void {
  const ids = [...btf.findByName(ess)];
  for (const full of flavoredNames(btf).get(ess) ?? []) ids.push(...btf.findByName(full));
  if (btf.base) {
    // Split BTF: only this module's own ids; the base was searched already.
    for (let i = ids.length - 1; i >= 0; i--) if ((ids[i] as number) < btf.firstId) ids.splice(i, 1);
  }
  ids.sort((a, b) => a - b);
  for (const id of ids) {
    const name = btf.nameOf(id);
    if (name === "" || essentialNameLen(name) !== ess.length) continue;
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
