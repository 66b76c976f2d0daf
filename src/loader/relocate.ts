// Resolves the data relocations of a linked program (after linking and CO-RE):
//   map  → ld_imm64 src_reg BPF_PSEUDO_MAP_FD,    imm = map fd
//   data → ld_imm64 src_reg BPF_PSEUDO_MAP_VALUE, imm = map fd, next imm = offset
//   extern .kconfig → BPF_PSEUDO_MAP_VALUE into the .kconfig map at the extern's offset
//   extern __ksym variable → ld_imm64 src_reg BPF_PSEUDO_BTF_ID, imm = btf id, next imm = btf obj fd
//   extern kfunc call → call src_reg BPF_PSEUDO_KFUNC_CALL, imm = btf id, off = fd_array index
// Unresolved weak externs behave as in libbpf (bpf_object__relocate_data): a ksym
// variable loads 0 and a kfunc call becomes an invalid helper call the verifier
// only complains about when it is reachable.

import { disassembleInsn } from "../asm/disasm.ts";
import { decodeInsn, setImm, setOff, setSrc } from "../asm/insn.ts";
import type { ExternSpec } from "../spec.ts";
import {
  BPF_CALL,
  BPF_JMP,
  BPF_LD_IMM64,
  BPF_PSEUDO_BTF_ID,
  BPF_PSEUDO_KFUNC_CALL,
  BPF_PSEUDO_MAP_FD,
  BPF_PSEUDO_MAP_VALUE,
} from "../uapi.ts";
import { LoadError } from "./errors.ts";
import type { LinkedProgram } from "./link.ts";
import type { OnStep } from "./steps.ts";

/** libbpf's POISON_CALL_KFUNC_BASE: unresolved weak kfunc calls become helper #(base + extern index). */
export const POISON_CALL_KFUNC_BASE = 2002000000;

export interface ResolvedKsym {
  btfId: number;
  btfObjFd: number;
  kind: "var" | "func";
  /** Typeless ksym (`extern const void x __ksym`): its /proc/kallsyms address. */
  addr?: bigint;
  /** Module whose BTF holds the symbol (then btfObjFd must be that BTF object's fd). */
  module?: string;
}

export interface RelocateContext {
  objectPath: string;
  /** Map C name → fd. */
  mapFds: Map<string, number>;
  externs: ExternSpec[];
  /** Name of the .kconfig map, when the object has one. */
  kconfigMap?: string;
  ksyms: Map<string, ResolvedKsym>;
  /** Module BTF fds referenced by kfunc calls (fd_array, index 0 is reserved for vmlinux). */
  fdArray: number[];
  onStep?: OnStep;
}

const CALL = BPF_JMP | BPF_CALL;

function show(insns: Uint8Array, slot: number): string {
  try {
    return disassembleInsn(decodeInsn(insns, slot), { helperNames: true }, slot);
  } catch {
    return "?";
  }
}

export function applyRelocations(lp: LinkedProgram, ctx: RelocateContext): void {
  const { insns } = lp;
  const prog = lp.spec.name;
  for (const r of lp.relocations) {
    const before = show(insns, r.insn);
    const code = insns[r.insn * 8] as number;
    const where = `${ctx.objectPath}: program '${prog}' insn ${r.insn}`;
    const needLd = () => {
      if (code !== BPF_LD_IMM64)
        throw new LoadError(`${where}: relocation against '${r.symbol}' is not on an ld_imm64 instruction`);
    };
    let target = "";
    if (r.kind === "map" || r.kind === "data") {
      needLd();
      const fd = ctx.mapFds.get(r.map);
      if (fd === undefined) throw new LoadError(`${where}: references map '${r.map}', which was not created`);
      if (r.kind === "map") {
        setSrc(insns, r.insn, BPF_PSEUDO_MAP_FD);
        setImm(insns, r.insn, fd);
        setImm(insns, r.insn + 1, 0);
        target = r.map;
      } else {
        setSrc(insns, r.insn, BPF_PSEUDO_MAP_VALUE);
        setImm(insns, r.insn, fd);
        setImm(insns, r.insn + 1, r.offset);
        target = `${r.map}+${r.offset}`;
      }
    } else if (r.kind === "extern") {
      const ext = ctx.externs.find((e) => e.name === r.name);
      if (!ext) throw new LoadError(`${where}: extern '${r.name}' has no BTF description`);
      if (ext.kind === "kconfig") {
        needLd();
        const fd = ctx.kconfigMap ? ctx.mapFds.get(ctx.kconfigMap) : undefined;
        if (fd === undefined)
          throw new LoadError(`${where}: kconfig extern '${r.name}' but no .kconfig map was created`);
        setSrc(insns, r.insn, BPF_PSEUDO_MAP_VALUE);
        setImm(insns, r.insn, fd);
        setImm(insns, r.insn + 1, ext.offset);
        target = `${ctx.kconfigMap}+${ext.offset} (${r.name})`;
      } else {
        const ks = ctx.ksyms.get(r.name);
        if (ks?.module && !ks.btfObjFd) {
          throw new LoadError(
            `${where}: ksym '${r.name}' is defined in kernel module '${ks.module}', whose BTF object tsbpf cannot reference yet`,
          );
        }
        if (code === CALL) {
          if (ks) {
            setSrc(insns, r.insn, BPF_PSEUDO_KFUNC_CALL);
            setImm(insns, r.insn, ks.btfId);
            let idx = 0;
            if (ks.btfObjFd) {
              // fd_array[0] is unused so that off = 0 keeps meaning vmlinux.
              if (ctx.fdArray.length === 0) ctx.fdArray.push(0);
              idx = ctx.fdArray.indexOf(ks.btfObjFd);
              if (idx < 0) idx = ctx.fdArray.push(ks.btfObjFd) - 1;
            }
            setOff(insns, r.insn, idx);
            target = `kfunc ${r.name} (btf id ${ks.btfId})`;
          } else if (ext.weak) {
            setSrc(insns, r.insn, 0);
            setOff(insns, r.insn, 0);
            setImm(insns, r.insn, POISON_CALL_KFUNC_BASE + ctx.externs.indexOf(ext));
            target = `unresolved weak kfunc ${r.name} (poisoned)`;
          } else throw new LoadError(`${where}: kfunc '${r.name}' was not found in kernel BTF`);
        } else {
          needLd();
          if (ks?.addr !== undefined) {
            // Typeless ksym: a plain 64-bit constant, the symbol's address (libbpf does the same).
            setSrc(insns, r.insn, 0);
            setImm(insns, r.insn, Number(BigInt.asIntN(32, ks.addr & 0xffffffffn)));
            setImm(insns, r.insn + 1, Number(BigInt.asIntN(32, ks.addr >> 32n)));
            target = `ksym ${r.name} = 0x${ks.addr.toString(16)} (kallsyms)`;
          } else if (ks) {
            setSrc(insns, r.insn, BPF_PSEUDO_BTF_ID);
            setImm(insns, r.insn, ks.btfId);
            setImm(insns, r.insn + 1, ks.btfObjFd);
            target = `ksym ${r.name} (btf id ${ks.btfId})`;
          } else if (ext.weak) {
            setSrc(insns, r.insn, 0);
            setImm(insns, r.insn, 0);
            setImm(insns, r.insn + 1, 0);
            target = `unresolved weak ksym ${r.name} = 0`;
          } else throw new LoadError(`${where}: ksym '${r.name}' was not found in kernel BTF`);
        }
      }
    } else continue;
    ctx.onStep?.({
      step: "relocation_applied",
      program: prog,
      insn: r.insn,
      kind: r.kind,
      target,
      before,
      after: show(insns, r.insn),
    });
  }
}
