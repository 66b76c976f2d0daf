// The symbolic forms of `DisasmOptions.helperNames` (for `tsbpf inspect --disasm` and
// `explain`): calls by helper name or pc-relative target, and the ld_imm64 pseudo loads
// (bpf.h BPF_PSEUDO_*) as the kernel's verifier log spells them, where llvm-objdump
// prints only raw numbers.
import {
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_IDX,
  BPF_PSEUDO_MAP_IDX_VALUE,
  BPF_PSEUDO_MAP_VALUE,
} from "../uapi.ts";
import { helperName } from "./helpers.ts";
import { hex } from "./imm.ts";
import type { Insn } from "./insn.ts";

/** The verifier log's spelling of a pc-relative target: decimal, relative to the next insn. */
function pc(imm: number): string {
  return `pc${imm < 0 ? "" : "+"}${imm}`;
}

/** `call pc+12` (bpf-to-bpf), `call kfunc#<btf id>`, `call bpf_<helper>` / `call helper#N`. */
export function symbolicCall(insn: Insn): string {
  if (insn.src === BPF_PSEUDO_CALL) return `call ${pc(insn.imm)}`;
  if (insn.src === BPF_PSEUDO_KFUNC_CALL) return `call kfunc#${insn.imm}`;
  return `call ${helperName(insn.imm) ?? `helper#${insn.imm}`}`;
}

/** Readable form of ld_imm64 whose src_reg asks the kernel to resolve imm; `d` is the dst register. */
export function pseudoLoad(insn: Insn, d: string): string {
  const lo = insn.imm >>> 0;
  const hi = Number(BigInt.asUintN(64, insn.imm64 ?? 0n) >> 32n);
  switch (insn.src) {
    case BPF_PSEUDO_MAP_FD:
      return `${d} = map[fd:${lo}]`;
    case BPF_PSEUDO_MAP_IDX:
      return `${d} = map[idx:${lo}]`;
    case BPF_PSEUDO_MAP_VALUE:
      return `${d} = map[fd:${lo}]+${hi}`;
    case BPF_PSEUDO_MAP_IDX_VALUE:
      return `${d} = map[idx:${lo}]+${hi}`;
    case BPF_PSEUDO_BTF_ID:
      return `${d} = btf_id ${lo}`;
    case BPF_PSEUDO_FUNC:
      return `${d} = func ${pc(insn.imm)}`;
  }
  return `${d} = ${hex(insn.imm64 ?? 0n)} ll ; src_reg=${insn.src}`;
}
