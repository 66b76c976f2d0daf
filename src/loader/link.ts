// Static linking of one program: the entry function followed by every subprogram it
// calls or takes the address of (transitively), each once. The order is libbpf's
// (bpf_object__reloc_code + bpf_object__append_subprog_code): walk the instructions
// of the function being processed in order; at the first call/BPF_PSEUDO_FUNC
// reference to a subprogram not yet in this program, append it at the end and
// recurse into it right away (depth-first, pre-order). The same layout makes
// `bpftool prog dump xlated` of our load identical to libbpf's.

import { setImm, setSrc } from "../asm/insn.ts";
import { type CoreRelo, LineInfoRecord } from "../btf/ext.ts";
import type { CollectionSpec, FunctionSpec, LineInfoSpec, ProgramSpec, RelocationSpec } from "../spec.ts";
import { BPF_PSEUDO_FUNC } from "../uapi.ts";
import { LoadError } from "./errors.ts";
import type { OnStep } from "./steps.ts";

const INSN = 8;

/** A function's place in the linked program. */
export interface LinkedFunction {
  name: string;
  key: string;
  /** First instruction slot in the linked program. */
  start: number;
  /** Number of 8-byte slots. */
  count: number;
}

export interface LinkedProgram {
  spec: ProgramSpec;
  /** Own copy of the instructions (patched by the relocation steps). */
  insns: Uint8Array;
  functions: LinkedFunction[];
  /** All indexes below are slots of the linked program. */
  funcInfo: { insn: number; typeId: number }[];
  lineInfo: LineInfoSpec[];
  coreRelos: CoreRelo[];
  /** Non-call relocations (map, data, extern); calls and function addresses are done. */
  relocations: RelocationSpec[];
}

/** Links `prog` with its subprograms from `spec.functions`. Pure: no syscalls. */
export function linkProgram(spec: CollectionSpec, prog: ProgramSpec, onStep?: OnStep): LinkedProgram {
  const parts: { fn: FunctionSpec; start: number; insns: Uint8Array }[] = [];
  const placed = new Map<string, number>();
  let total = 0;

  const append = (fn: FunctionSpec): number => {
    const start = total;
    placed.set(fn.key, start);
    // Copy: FunctionSpec.insns is a view into the ELF file and must stay pristine.
    parts.push({ fn, start, insns: fn.insns.slice() });
    total += fn.insns.length / INSN;
    if (fn !== prog)
      onStep?.({
        step: "subprog_appended",
        program: prog.name,
        subprog: fn.name,
        at: start,
        insns: fn.insns.length / INSN,
      });
    return start;
  };

  const walk = (fn: FunctionSpec, own: Uint8Array, start: number): void => {
    const refs = fn.relocations
      .filter((r) => r.kind === "call" || r.kind === "func")
      .sort((a, b) => a.insn - b.insn);
    for (const r of refs) {
      if (r.kind !== "call" && r.kind !== "func") continue;
      const callee = spec.functions.get(r.target);
      if (!callee) {
        throw new LoadError(
          `${spec.path}: program '${prog.name}': ${fn.name} insn ${r.insn} ${r.kind === "call" ? "calls" : "references"} function '${r.target}', which is not in the object`,
        );
      }
      let at = placed.get(callee.key);
      if (at === undefined) {
        at = append(callee);
        const part = parts[parts.length - 1] as (typeof parts)[number];
        walk(callee, part.insns, at);
      }
      // Both BPF_PSEUDO_CALL and BPF_PSEUDO_FUNC take the callee's offset relative
      // to the next instruction (kernel check_subprogs / bpf_pseudo_func).
      setImm(own, r.insn, at - (start + r.insn) - 1);
      // clang leaves src_reg 0 on a function-address ld_imm64; the kernel needs
      // BPF_PSEUDO_FUNC there to treat it as a subprogram reference.
      if (r.kind === "func") setSrc(own, r.insn, BPF_PSEUDO_FUNC);
    }
  };

  append(prog);
  walk(prog, (parts[0] as (typeof parts)[number]).insns, 0);

  const insns = new Uint8Array(total * INSN);
  const out: LinkedProgram = {
    spec: prog,
    insns,
    functions: [],
    funcInfo: [],
    lineInfo: [],
    coreRelos: [],
    relocations: [],
  };
  for (const { fn, start, insns: code } of parts) {
    insns.set(code, start * INSN);
    out.functions.push({ name: fn.name, key: fn.key, start, count: code.length / INSN });
    for (const f of fn.funcInfo) out.funcInfo.push({ insn: f.insn + start, typeId: f.typeId });
    for (const l of fn.lineInfo) out.lineInfo.push(moveLine(l, l.insn + start));
    for (const c of fn.coreRelos)
      out.coreRelos.push({ insn: c.insn + start, typeId: c.typeId, accessStr: c.accessStr, kind: c.kind });
    for (const r of fn.relocations)
      if (r.kind !== "call" && r.kind !== "func") out.relocations.push({ ...r, insn: r.insn + start });
  }
  return out;
}

/**
 * A line_info record at another slot. Records read from an object decode their text
 * lazily (btf/ext.ts LineInfoRecord) and must be copied with at(): a spread would drop
 * the getters. Hand-made plain records are spread.
 */
function moveLine(l: LineInfoSpec, insn: number): LineInfoSpec {
  return l instanceof LineInfoRecord ? l.at(insn) : { ...l, insn };
}
