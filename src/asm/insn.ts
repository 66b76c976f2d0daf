// Decode, encode and patch `struct bpf_insn` (include/uapi/linux/bpf.h):
//   u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm;   little-endian, 8 bytes.
// On little-endian machines the register byte holds dst in the low nibble and src in the
// high nibble (bitfields are allocated from the least significant bit).
// ld_imm64 (BPF_LD | BPF_IMM | BPF_DW) spans two slots: the second slot's imm holds the
// upper 32 bits and its other fields must be zero (kernel/bpf/verifier.c check_ld_imm).
// Pure: no I/O. The patch helpers edit the byte array in place, which is what the loader
// and CO-RE relocation need when they rewrite a program before BPF_PROG_LOAD.

import { TsbpfError } from "../errors.ts";
import { BPF_INSN_SIZE, BPF_LD_IMM64 } from "../uapi.ts";

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** For ld_imm64: the full 64-bit value (low half from this slot, high half from the next). */
  imm64?: bigint;
}

/** A malformed instruction stream: truncated, misaligned, or a slot index out of range. */
export class InsnError extends TsbpfError {}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function slotOffset(bytes: Uint8Array, slot: number, what: string): number {
  const count = Math.floor(bytes.byteLength / BPF_INSN_SIZE);
  if (!Number.isInteger(slot) || slot < 0 || slot >= count) {
    throw new InsnError(
      `${what}: instruction slot ${slot} is out of range (the program has ${count} slots of ${BPF_INSN_SIZE} bytes)`,
    );
  }
  return slot * BPF_INSN_SIZE;
}

/** True when `code` is the first slot of a two-slot ld_imm64. */
export function isLdImm64(code: number): boolean {
  return code === BPF_LD_IMM64;
}

/** Number of slots in `bytes` (which must be a whole number of instructions). */
export function slotCount(bytes: Uint8Array): number {
  if (bytes.byteLength % BPF_INSN_SIZE !== 0) {
    throw new InsnError(
      `instruction bytes: length ${bytes.byteLength} is not a multiple of ${BPF_INSN_SIZE} (sizeof(struct bpf_insn))`,
    );
  }
  return bytes.byteLength / BPF_INSN_SIZE;
}

/**
 * Decodes the instruction at `slot`. For ld_imm64 also reads the next slot into `imm64`;
 * throws InsnError when that second slot is missing.
 */
export function decodeInsn(bytes: Uint8Array, slot: number): Insn {
  const at = slotOffset(bytes, slot, "decodeInsn");
  const dv = view(bytes);
  const code = dv.getUint8(at);
  const regs = dv.getUint8(at + 1);
  const insn: Insn = {
    code,
    dst: regs & 0x0f,
    src: regs >> 4,
    off: dv.getInt16(at + 2, true),
    imm: dv.getInt32(at + 4, true),
  };
  if (isLdImm64(code)) {
    if (at + 2 * BPF_INSN_SIZE > bytes.byteLength) {
      throw new InsnError(
        `decodeInsn: ld_imm64 at slot ${slot} (byte offset ${at}) is truncated: its second slot is missing`,
      );
    }
    const hi = dv.getUint32(at + BPF_INSN_SIZE + 4, true);
    const lo = dv.getUint32(at + 4, true);
    insn.imm64 = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }
  return insn;
}

/** Decodes a whole program; ld_imm64 entries have size 2 and the next slot is skipped. */
export function decodeAll(bytes: Uint8Array): { slot: number; insn: Insn; size: 1 | 2 }[] {
  const n = slotCount(bytes);
  const out: { slot: number; insn: Insn; size: 1 | 2 }[] = [];
  for (let slot = 0; slot < n; ) {
    const insn = decodeInsn(bytes, slot);
    const size: 1 | 2 = insn.imm64 !== undefined ? 2 : 1;
    out.push({ slot, insn, size });
    slot += size;
  }
  return out;
}

/**
 * Encodes one instruction to 8 bytes, or 16 for ld_imm64 (the high half comes from
 * `imm64` when given, else it is the sign extension of `imm`).
 */
export function encodeInsn(insn: Insn): Uint8Array {
  checkField("dst", insn.dst, 0, 15);
  checkField("src", insn.src, 0, 15);
  checkField("code", insn.code, 0, 0xff);
  checkField("off", insn.off, -0x8000, 0x7fff);
  checkField("imm", insn.imm, -0x80000000, 0xffffffff);
  const wide = isLdImm64(insn.code);
  const out = new Uint8Array(wide ? 2 * BPF_INSN_SIZE : BPF_INSN_SIZE);
  const dv = view(out);
  dv.setUint8(0, insn.code);
  dv.setUint8(1, (insn.src << 4) | insn.dst);
  dv.setInt16(2, insn.off, true);
  dv.setInt32(4, insn.imm | 0, true);
  if (wide) {
    const v = insn.imm64 ?? BigInt(insn.imm | 0);
    setImm64(out, 0, v);
  }
  return out;
}

/** Encodes a list of instructions back to back. */
export function encodeAll(insns: Insn[]): Uint8Array {
  const parts = insns.map(encodeInsn);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function checkField(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InsnError(
      `encodeInsn: field ${name}=${v} does not fit (expected an integer in ${min}..${max})`,
    );
  }
}

// ---- in-place accessors and patch helpers --------------------------------------------

export function getCode(bytes: Uint8Array, slot: number): number {
  return bytes[slotOffset(bytes, slot, "getCode")];
}

export function setCode(bytes: Uint8Array, slot: number, code: number): void {
  checkField("code", code, 0, 0xff);
  bytes[slotOffset(bytes, slot, "setCode")] = code;
}

export function getDst(bytes: Uint8Array, slot: number): number {
  return bytes[slotOffset(bytes, slot, "getDst") + 1] & 0x0f;
}

export function setDst(bytes: Uint8Array, slot: number, dst: number): void {
  checkField("dst", dst, 0, 15);
  const at = slotOffset(bytes, slot, "setDst") + 1;
  bytes[at] = (bytes[at] & 0xf0) | dst;
}

export function getSrc(bytes: Uint8Array, slot: number): number {
  return bytes[slotOffset(bytes, slot, "getSrc") + 1] >> 4;
}

export function setSrc(bytes: Uint8Array, slot: number, src: number): void {
  checkField("src", src, 0, 15);
  const at = slotOffset(bytes, slot, "setSrc") + 1;
  bytes[at] = (bytes[at] & 0x0f) | (src << 4);
}

export function getOff(bytes: Uint8Array, slot: number): number {
  return view(bytes).getInt16(slotOffset(bytes, slot, "getOff") + 2, true);
}

export function setOff(bytes: Uint8Array, slot: number, off: number): void {
  checkField("off", off, -0x8000, 0x7fff);
  view(bytes).setInt16(slotOffset(bytes, slot, "setOff") + 2, off, true);
}

export function getImm(bytes: Uint8Array, slot: number): number {
  return view(bytes).getInt32(slotOffset(bytes, slot, "getImm") + 4, true);
}

/** Sets the 32-bit imm; accepts signed or unsigned 32-bit values (stored as two's complement). */
export function setImm(bytes: Uint8Array, slot: number, imm: number): void {
  checkField("imm", imm, -0x80000000, 0xffffffff);
  view(bytes).setInt32(slotOffset(bytes, slot, "setImm") + 4, imm | 0, true);
}

/** Reads the 64-bit value of the ld_imm64 at `slot` (signed). */
export function getImm64(bytes: Uint8Array, slot: number): bigint {
  const at = slotOffset(bytes, slot, "getImm64");
  slotOffset(bytes, slot + 1, "getImm64 (second half of ld_imm64)");
  const dv = view(bytes);
  const lo = dv.getUint32(at + 4, true);
  const hi = dv.getUint32(at + BPF_INSN_SIZE + 4, true);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/** Writes both halves of an ld_imm64's value: low 32 bits to `slot`, high 32 bits to `slot + 1`. */
export function setImm64(bytes: Uint8Array, slot: number, value: bigint): void {
  if (value < -(1n << 63n) || value >= 1n << 64n) {
    throw new InsnError(`setImm64: value ${value} does not fit in 64 bits`);
  }
  const at = slotOffset(bytes, slot, "setImm64");
  slotOffset(bytes, slot + 1, "setImm64 (second half of ld_imm64)");
  const u = BigInt.asUintN(64, value);
  const dv = view(bytes);
  dv.setUint32(at + 4, Number(u & 0xffffffffn), true);
  dv.setUint32(at + BPF_INSN_SIZE + 4, Number(u >> 32n), true);
}
