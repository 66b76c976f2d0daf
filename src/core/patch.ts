// Writes a resolved CO-RE value into its instruction (libbpf relo_core.c
// bpf_core_patch_insn): ALU/ALU64 with an immediate operand, the offset of LDX/ST/STX
// (and their access size when the target field is wider or narrower), or both halves
// of a plain ld_imm64. The instruction must still carry the local value, otherwise
// the compiler and we disagree about the layout and patching would be a guess.
import {
  getCode,
  getDst,
  getImm,
  getOff,
  getSrc,
  setCode,
  setDst,
  setImm,
  setOff,
  setSrc,
} from "../asm/insn.ts";
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_B,
  BPF_CALL,
  BPF_DW,
  BPF_H,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_LD_IMM64,
  BPF_LDX,
  BPF_SIZE_MASK,
  BPF_ST,
  BPF_STX,
  BPF_W,
} from "../uapi.ts";
import type { CoreReloRes } from "./resolve.ts";

/** libbpf's poison: `call 0xbad2310` ("bad relo"); the verifier reports "invalid func unknown#195896080". */
export const CORE_POISON_IMM = 0xbad2310;

export class CorePatchError extends Error {}

const SIZE_BYTES: Record<number, number> = { [BPF_B]: 1, [BPF_H]: 2, [BPF_W]: 4, [BPF_DW]: 8 };
const BYTES_SIZE: Record<number, number> = { 1: BPF_B, 2: BPF_H, 4: BPF_W, 8: BPF_DW };

function poisonSlot(insns: Uint8Array, slot: number): void {
  setCode(insns, slot, BPF_JMP | BPF_CALL);
  setDst(insns, slot, 0);
  setSrc(insns, slot, 0);
  setOff(insns, slot, 0);
  setImm(insns, slot, CORE_POISON_IMM);
}

/** Replaces the instruction (both slots of an ld_imm64) with the poison call. */
export function poisonInsn(insns: Uint8Array, slot: number): void {
  // Poisoning the second half too keeps the verifier from reporting "unknown opcode 00".
  if (getCode(insns, slot) === BPF_LD_IMM64) poisonSlot(insns, slot + 1);
  poisonSlot(insns, slot);
}

/** Patches `slot`; returns what changed, e.g. "off 16 -> 2552", "poisoned". */
export function patchInsn(insns: Uint8Array, slot: number, res: CoreReloRes): string {
  if (res.poison) {
    poisonInsn(insns, slot);
    return "poisoned";
  }
  const code = getCode(insns, slot);
  const cls = code & 0x07;
  const u64 = (n: number) => BigInt.asUintN(64, BigInt(n));
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      if ((code & 0x08) !== BPF_K)
        throw new CorePatchError(`insn #${slot} (ALU) uses a register operand, expected an immediate`);
      const imm = getImm(insns, slot);
      if (res.validate && u64(imm) !== res.origVal) {
        throw new CorePatchError(
          `unexpected insn #${slot} (ALU/ALU64) value: got ${imm}, expected ${res.origVal} -> ${res.newVal}`,
        );
      }
      setImm(insns, slot, Number(BigInt.asIntN(32, res.newVal)));
      return `imm ${imm} -> ${BigInt.asIntN(32, res.newVal)}`;
    }
    case BPF_LDX:
    case BPF_ST:
    case BPF_STX: {
      const off = getOff(insns, slot);
      if (res.validate && u64(off) !== res.origVal) {
        throw new CorePatchError(
          `unexpected insn #${slot} (LDX/ST/STX) value: got ${off}, expected ${res.origVal} -> ${res.newVal}`,
        );
      }
      if (res.newVal > 32767n)
        throw new CorePatchError(`insn #${slot} (LDX/ST/STX) offset ${res.newVal} does not fit in s16`);
      if (res.failMemszAdjust) {
        // The field changed size in a way a load of another width cannot express.
        poisonInsn(insns, slot);
        return `poisoned (field is ${res.newSz} bytes in the target, ${res.origSz} locally: not a pointer or unsigned integer)`;
      }
      setOff(insns, slot, Number(res.newVal));
      let what = `off ${off} -> ${res.newVal}`;
      if (res.newSz !== res.origSz) {
        const cur = SIZE_BYTES[code & BPF_SIZE_MASK] as number;
        if (cur !== res.origSz)
          throw new CorePatchError(
            `insn #${slot} (LDX/ST/STX) accesses ${cur} bytes, expected ${res.origSz}`,
          );
        const sz = BYTES_SIZE[res.newSz];
        if (sz === undefined)
          throw new CorePatchError(`insn #${slot} (LDX/ST/STX): no load/store of ${res.newSz} bytes`);
        setCode(insns, slot, (code & ~BPF_SIZE_MASK) | sz);
        what += `, size ${res.origSz} -> ${res.newSz}`;
      }
      return what;
    }
    case BPF_LD: {
      const plain =
        code === BPF_LD_IMM64 &&
        getSrc(insns, slot) === 0 &&
        getOff(insns, slot) === 0 &&
        slot + 1 < insns.length / 8 &&
        getCode(insns, slot + 1) === 0 &&
        getDst(insns, slot + 1) === 0 &&
        getSrc(insns, slot + 1) === 0 &&
        getOff(insns, slot + 1) === 0;
      if (!plain) throw new CorePatchError(`insn #${slot} (LDIMM64) has an unexpected form`);
      const lo = BigInt(getImm(insns, slot) >>> 0);
      const hi = BigInt(getImm(insns, slot + 1) >>> 0);
      const imm = (hi << 32n) | lo;
      if (res.validate && imm !== res.origVal) {
        throw new CorePatchError(
          `unexpected insn #${slot} (LDIMM64) value: got ${imm}, expected ${res.origVal} -> ${res.newVal}`,
        );
      }
      const v = BigInt.asUintN(64, res.newVal);
      setImm(insns, slot, Number(v & 0xffffffffn));
      setImm(insns, slot + 1, Number(v >> 32n));
      return `imm64 ${imm} -> ${v}`;
    }
    default:
      throw new CorePatchError(`trying to relocate unrecognized insn #${slot}, code 0x${code.toString(16)}`);
  }
}
