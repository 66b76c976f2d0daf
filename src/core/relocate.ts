// Applies the CO-RE relocations of one linked program against the target BTF and
// explains each one (for `tsbpf explain` and for error messages).
import type { Btf } from "../btf/btf.ts";
import type { CoreRelo } from "../btf/ext.ts";
import { BPF_CORE_KIND_NAMES } from "../btf/ext.ts";
import type { LineInfoSpec } from "../spec.ts";

export interface CoreReloResult {
  /** Position of the record among the program's CO-RE records (the `#N` in messages). */
  index: number;
  /** Instruction index in the linked program. */
  insn: number;
  /** BPF_CORE_* */
  kind: number;
  kindName: string;
  localTypeId: number;
  /** The local type as C text. */
  localType: string;
  /** Raw access string ("0:1:2") and its readable form (`task_struct->real_parent->tgid`). */
  access: { spec: string; text: string };
  /** Target types with the same essential name. */
  candidates: { id: number; name: string }[];
  chosen?: { id: number; name: string };
  value: { local: number | bigint; target: number | bigint };
  insnBefore: string;
  insnAfter: string;
  poisoned: boolean;
  error?: string;
  /** "file:line" from line_info, when known. */
  source?: string;
}

export interface ApplyCoreArgs {
  program: string;
  /** Linked program, patched in place. */
  insns: Uint8Array;
  /** Instruction indexes relative to the linked program. */
  relos: CoreRelo[];
  localBtf: Btf;
  /** Defaults to the kernel BTF (src/loader/kernel-btf.ts). */
  targetBtf?: Btf;
  /** Instruction indexes relative to the linked program. */
  lineInfo?: LineInfoSpec[];
}

export function applyCoreRelocations(args: ApplyCoreArgs): CoreReloResult[] {
  // Signature-first stub; the resolver lands next.
  return args.relos.map((r, index) => ({
    index,
    insn: r.insn,
    kind: r.kind,
    kindName: BPF_CORE_KIND_NAMES[r.kind] ?? `kind#${r.kind}`,
    localTypeId: r.typeId,
    localType: "",
    access: { spec: r.accessStr, text: r.accessStr },
    candidates: [],
    value: { local: 0, target: 0 },
    insnBefore: "",
    insnAfter: "",
    poisoned: false,
  }));
}
