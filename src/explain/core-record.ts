// One CO-RE result as explain reports it: `kind` as libbpf's name (the number is not
// repeated beside it), and the local and target access strings spelled out index by
// index with the member names they select (src/explain/access.ts).
import type { Btf } from "../btf/btf.ts";
import type { CoreReloResult } from "../core/relocate.ts";
import { accessSteps } from "./access.ts";
import type { ExplainReport } from "./explain.ts";

/** The BTF the access strings are read against: the object's own, and the CO-RE target. */
export interface CoreBtfs {
  local: Btf | undefined;
  target: Btf;
}

/** field, enum or type relocation, from libbpf's kind name (byte_off, enumval_value, type_size...). */
function family(kindName: string): "field" | "enum" | "type" {
  if (kindName.startsWith("enumval_")) return "enum";
  if (kindName.includes("type")) return "type";
  return "field";
}

/**
 * `r` as a load step carries it has `kind` already replaced by the name; a static
 * result has the number and `kindName`. Either way the record gets the name only.
 */
export function coreRecord(
  program: string,
  r: CoreReloResult | (Omit<CoreReloResult, "kind"> & { kind: string }),
  btfs: CoreBtfs,
): ExplainReport["core_relocations"][number] {
  const { kind: _kind, kindName, access, ...rest } = r;
  const fam = family(kindName);
  const steps = btfs.local ? accessSteps(btfs.local, r.localTypeId, access.spec, fam) : undefined;
  // Module types live in another BTF; the running kernel's vmlinux is what explain holds.
  const targetSteps =
    r.chosen && !r.chosen.module && access.target
      ? accessSteps(btfs.target, r.chosen.id, access.target, fam)
      : undefined;
  return {
    program,
    ...rest,
    kind: kindName,
    access: {
      ...access,
      ...(steps ? { steps } : {}),
      ...(targetSteps ? { target_steps: targetSteps } : {}),
    },
  };
}
