// Disassembler producing llvm-objdump's BPF syntax (the pseudo-C form printed by
// `llvm-objdump -d --mcpu=v4`), so our listings diff cleanly against the toolchain's.
// Opcode layout follows Documentation/bpf/standardization/instruction-set.rst:
//   code = op:4 | source:1 | class:3 (ALU/JMP), or mode:3 | size:2 | class:3 (loads/stores).
// Never throws on bad bytes: anything undecodable prints as `<unknown opcode 0x..>`.

import {
  BPF_ABS,
  BPF_ALU,
  BPF_ALU64,
  BPF_ATOMIC,
  BPF_B,
  BPF_CALL,
  BPF_CLASS_MASK,
  BPF_CMPXCHG,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_FETCH,
  BPF_H,
  BPF_IND,
  BPF_INSN_SIZE,
  BPF_JA,
  BPF_JCOND,
  BPF_JMP,
  BPF_JMP32,
  BPF_LD,
  BPF_LD_IMM64,
  BPF_LDX,
  BPF_LOAD_ACQ,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MODE_MASK,
  BPF_MOV,
  BPF_OP_MASK,
  BPF_PSEUDO_CALL,
  BPF_SIZE_MASK,
  BPF_ST,
  BPF_STORE_REL,
  BPF_STX,
  BPF_W,
  BPF_X,
  BPF_XCHG,
} from "../uapi.ts";
import { pseudoLoad, symbolicCall } from "./disasm-symbolic.ts";
import { hex, rel } from "./imm.ts";
import type { Insn } from "./insn.ts";

export interface DisasmOptions {
  /**
   * Symbolic output for humans (`tsbpf inspect --disasm`, `explain`): helper calls print as
   * `call bpf_get_current_pid_tgid`, bpf-to-bpf calls as `call pc+12`, kfunc calls as
   * `call kfunc#<btf id>`, and ld_imm64 pseudo forms as `r1 = map[fd:5]`, `map[idx:0]+16`,
   * `btf_id 123`, `func pc+4`. Off (the default), the text is exactly llvm-objdump's.
   */
  helperNames?: boolean;
  /**
   * Extra text for an instruction slot, usually a relocation's symbol. For a bpf-to-bpf call
   * with `helperNames` it names the callee (`call <name>`); for anything else it is appended
   * as a comment (`r1 = 0x0 ll ; events`).
   */
  annotate?: (slot: number) => string | undefined;
  /** Label for a jump target slot, appended llvm-style: `goto +0x2 <prog+0x30>`. */
  jumpLabel?: (targetSlot: number) => string | undefined;
  /**
   * Print 32-bit loads/stores/atomics with w registers, as llvm-objdump does with
   * `--mcpu=v3`/`v4` (alu32 decoding). Default true. With false, 32-bit loads, stores and
   * the 32-bit atomic add use r registers, as plain `llvm-objdump -d` prints them.
   */
  alu32?: boolean;
}

export interface DisasmLine {
  slot: number;
  size: 1 | 2;
  bytes: Uint8Array;
  text: string;
}

const ALU_OPS: Record<number, string> = {
  0: "+=",
  16: "-=",
  32: "*=",
  48: "/=",
  64: "|=",
  80: "&=",
  96: "<<=",
  112: ">>=",
  144: "%=",
  160: "^=",
  192: "s>>=",
};

const JMP_OPS: Record<number, string> = {
  16: "==",
  32: ">",
  48: ">=",
  64: "&",
  80: "!=",
  96: "s>",
  112: "s>=",
  160: "<",
  176: "<=",
  192: "s<",
  208: "s<=",
};

/** Atomic read-modify-write ops (imm without BPF_FETCH) → compound-assignment operator. */
const ATOMIC_OPS: Record<number, string> = { 0: "+=", 64: "|=", 80: "&=", 160: "^=" };
const ATOMIC_FETCH_NAMES: Record<number, string> = { 0: "add", 64: "or", 80: "and", 160: "xor" };

const SIZE_NAMES: Record<number, string> = { [BPF_W]: "32", [BPF_H]: "16", [BPF_B]: "8", [BPF_DW]: "64" };

/** `(r1 + 0x8)` / `(r10 - 0x8)`; llvm always prints the offset, `+ 0x0` included. */
function memOperand(base: number, off: number): string {
  const r = reg(base, true);
  return off < 0 ? `${r} - ${hex(-off)}` : `${r} + ${hex(off)}`;
}

function unknown(code: number): string {
  return `<unknown opcode 0x${code.toString(16).padStart(2, "0")}>`;
}

/** Thrown (and caught in disassembleInsn) when a field does not decode; never escapes. */
class Undecodable {}

/** llvm's register class holds r0..r11 (r11 is internal); higher numbers do not decode. */
function reg(n: number, wide: boolean): string {
  if (n > 11) throw new Undecodable();
  return `${wide ? "r" : "w"}${n}`;
}

/**
 * One instruction in llvm-objdump syntax. `slot` is only used for the annotate/jumpLabel
 * callbacks (jump targets are slot-relative). ld_imm64 needs `insn.imm64`.
 */
export function disassembleInsn(insn: Insn, opts: DisasmOptions = {}, slot = 0): string {
  let text: string | undefined;
  try {
    text = decodeText(insn, opts, slot);
  } catch (e) {
    if (!(e instanceof Undecodable)) throw e;
  }
  if (text === undefined) return unknown(insn.code);
  const note = opts.annotate?.(slot);
  if (note === undefined) return text;
  return opts.helperNames && isPseudoCall(insn) ? `call ${note}` : `${text} ; ${note}`;
}

function isPseudoCall(insn: Insn): boolean {
  return insn.code === (BPF_JMP | BPF_CALL) && insn.src === BPF_PSEUDO_CALL;
}

function decodeText(insn: Insn, opts: DisasmOptions, slot: number): string | undefined {
  switch (insn.code & BPF_CLASS_MASK) {
    case BPF_ALU:
    case BPF_ALU64:
      return alu(insn);
    case BPF_JMP:
    case BPF_JMP32:
      return jmp(insn, opts, slot);
    case BPF_LD:
      return ld(insn, opts);
    case BPF_LDX:
      return ldx(insn, opts.alu32 ?? true);
    case BPF_ST:
      return st(insn);
    case BPF_STX:
      return stx(insn, opts.alu32 ?? true);
  }
  return undefined;
}

function alu(insn: Insn): string | undefined {
  const wide = (insn.code & BPF_CLASS_MASK) === BPF_ALU64;
  const op = insn.code & BPF_OP_MASK;
  const isX = (insn.code & BPF_X) !== 0;
  if (op === BPF_END) {
    // BPF_ALU | BPF_END: le/be by source bit; BPF_ALU64 | BPF_END (BPF_TO_LE only): bswap.
    if (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) return undefined;
    let name: string;
    if (!wide) name = isX ? "be" : "le";
    else if (!isX) name = "bswap";
    else return undefined;
    return `r${insn.dst} = ${name}${insn.imm} ${reg(insn.dst, true)}`;
  }
  const d = reg(insn.dst, wide);
  const rhs = isX ? reg(insn.src, wide) : hex(insn.imm);
  if (op === 0x80) {
    // BPF_NEG
    if (isX) return undefined;
    return `${d} = -${d}`;
  }
  if (op === BPF_MOV) {
    if (insn.off === 0) return `${d} = ${rhs}`;
    if (wide && isX && insn.off === 1) {
      // BPF_ADDR_SPACE_CAST (arena pointers): imm = dst_as << 16 | src_as.
      return `${d} = addr_space_cast(${reg(insn.src, true)}, ${hex(insn.imm >>> 16)}, ${hex(insn.imm & 0xffff)})`;
    }
    // cpu v4 BPF_MOVSX: off is the source width to sign-extend from.
    if (!isX || (insn.off !== 8 && insn.off !== 16 && (insn.off !== 32 || !wide))) return undefined;
    return `${d} = (s${insn.off})${reg(insn.src, wide)}`;
  }
  let sym = ALU_OPS[op];
  if (sym === undefined) return undefined;
  if (op === 0x30 || op === 0x90) {
    // cpu v4: off=1 selects signed division/modulo (BPF_SDIV/BPF_SMOD).
    if (insn.off === 1) sym = `s${sym}`;
    else if (insn.off !== 0) return undefined;
  } else if (insn.off !== 0) {
    return undefined;
  }
  return `${d} ${sym} ${rhs}`;
}

function jmp(insn: Insn, opts: DisasmOptions, slot: number): string | undefined {
  const is32 = (insn.code & BPF_CLASS_MASK) === BPF_JMP32;
  const op = insn.code & BPF_OP_MASK;
  const isX = (insn.code & BPF_X) !== 0;
  const label = (delta: number): string => {
    const l = opts.jumpLabel?.(slot + 1 + delta);
    return l === undefined ? rel(delta) : `${rel(delta)} <${l}>`;
  };
  if (op === BPF_JA) {
    if (isX) return undefined;
    // JMP32 | JA is gotol: the 32-bit displacement lives in imm (cpu v4).
    return is32 ? `gotol ${label(insn.imm)}` : `goto ${label(insn.off)}`;
  }
  if (!is32 && op === BPF_CALL) {
    if (isX) return `callx ${reg(insn.dst, true)}`;
    return callText(insn, opts);
  }
  if (!is32 && op === BPF_EXIT) return isX || insn.imm !== 0 ? undefined : "exit";
  if (!is32 && op === BPF_JCOND) return isX ? undefined : `may_goto ${label(insn.off)}`;
  const cmp = JMP_OPS[op];
  if (cmp === undefined) return undefined;
  const d = reg(insn.dst, !is32);
  const rhs = isX ? reg(insn.src, !is32) : hex(insn.imm);
  return `if ${d} ${cmp} ${rhs} goto ${label(insn.off)}`;
}

function callText(insn: Insn, opts: DisasmOptions): string {
  return opts.helperNames ? symbolicCall(insn) : `call ${hex(insn.imm)}`;
}

function ld(insn: Insn, opts: DisasmOptions): string | undefined {
  const mode = insn.code & BPF_MODE_MASK;
  const size = insn.code & BPF_SIZE_MASK;
  if (insn.code === BPF_LD_IMM64) {
    // llvm decodes ld_imm64 only with off == 0 (the kernel also requires it).
    if (insn.imm64 === undefined || insn.off !== 0) return undefined;
    const d = reg(insn.dst, true);
    if (insn.src === 0) return `${d} = ${hex(insn.imm64)} ll`;
    if (opts.helperNames) return pseudoLoad(insn, d);
    // llvm's raw form for BPF_PSEUDO_* loads: `ld_pseudo rD, src_reg, imm` (low 32 bits).
    return `ld_pseudo ${d}, ${hex(insn.src)}, ${hex(insn.imm >>> 0)}`;
  }
  if ((mode === BPF_ABS || mode === BPF_IND) && size !== BPF_DW) {
    // Legacy packet loads: implicit skb in r6, result in r0.
    const where = mode === BPF_ABS ? hex(insn.imm) : reg(insn.src, true);
    return `r0 = *(u${SIZE_NAMES[size]} *)skb[${where}]`;
  }
  return undefined;
}

function ldx(insn: Insn, alu32: boolean): string | undefined {
  const mode = insn.code & BPF_MODE_MASK;
  const size = insn.code & BPF_SIZE_MASK;
  if (mode !== BPF_MEM && mode !== BPF_MEMSX) return undefined;
  if (mode === BPF_MEMSX && size === BPF_DW) return undefined;
  const sign = mode === BPF_MEMSX ? "s" : "u";
  // Zero-extending sub-64-bit loads target a w register under alu32 decoding.
  const wide = mode === BPF_MEMSX || size === BPF_DW || !alu32;
  return `${reg(insn.dst, wide)} = *(${sign}${SIZE_NAMES[size]} *)(${memOperand(insn.src, insn.off)})`;
}

function st(insn: Insn): string | undefined {
  const size = insn.code & BPF_SIZE_MASK;
  if ((insn.code & BPF_MODE_MASK) !== BPF_MEM) return undefined;
  return `*(u${SIZE_NAMES[size]} *)(${memOperand(insn.dst, insn.off)}) = ${hex(insn.imm)}`;
}

function stx(insn: Insn, alu32: boolean): string | undefined {
  const mode = insn.code & BPF_MODE_MASK;
  const size = insn.code & BPF_SIZE_MASK;
  const bits = SIZE_NAMES[size];
  const wide = size === BPF_DW || !alu32;
  if (mode === BPF_MEM) return `*(u${bits} *)(${memOperand(insn.dst, insn.off)}) = ${reg(insn.src, wide)}`;
  if (mode !== BPF_ATOMIC) return undefined;
  return atomic(insn, size, alu32);
}

/**
 * BPF_STX | BPF_ATOMIC. The operation is the whole imm, as the kernel checks it
 * (kernel/bpf/verifier.c check_atomic): llvm 19 also accepts stray imm bits, and it reads
 * load-acquire (imm 0x100) as an atomic add, so for non-canonical imm values we print
 * `<unknown>` rather than follow it.
 */
function atomic(insn: Insn, size: number, alu32: boolean): string | undefined {
  const bits = SIZE_NAMES[size];
  const is64 = size === BPF_DW;
  const addr = memOperand(insn.dst, insn.off);
  const imm = insn.imm;
  // cpu v4 (kernel 6.15+) load-acquire / store-release, in llvm 20's spelling; any size.
  if (imm === BPF_LOAD_ACQ)
    return `${reg(insn.dst, is64 || !alu32)} = load_acquire((u${bits} *)(${memOperand(insn.src, insn.off)}))`;
  if (imm === BPF_STORE_REL) return `store_release((u${bits} *)(${addr}), ${reg(insn.src, is64 || !alu32)})`;
  if (!is64 && size !== BPF_W) return undefined;
  // Without alu32 decoding llvm prints the 32-bit atomic add (the old BPF_XADD) with an
  // r register. (It also misreads other 32-bit atomics there; we decode them as alu32.)
  const s = reg(insn.src, is64 || (!alu32 && imm === 0));
  if (imm === BPF_XCHG) return `${s} = xchg${is64 ? "_64" : "32_32"}(${addr}, ${s})`;
  if (imm === BPF_CMPXCHG) {
    const r0 = reg(0, is64);
    return `${r0} = cmpxchg${is64 ? "_64" : "32_32"}(${addr}, ${r0}, ${s})`;
  }
  const op = imm & ~BPF_FETCH;
  if ((imm & BPF_FETCH) === 0) {
    const sym = ATOMIC_OPS[op];
    return sym === undefined ? undefined : `lock *(u${bits} *)(${addr}) ${sym} ${s}`;
  }
  const name = ATOMIC_FETCH_NAMES[op];
  return name === undefined ? undefined : `${s} = atomic_fetch_${name}((u${bits} *)(${addr}), ${s})`;
}

/**
 * Disassembles a program. Never throws: a trailing partial slot or a truncated ld_imm64
 * prints as unknown, one line per slot.
 */
export function disassemble(bytes: Uint8Array, opts: DisasmOptions = {}): DisasmLine[] {
  const out: DisasmLine[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.ceil(bytes.byteLength / BPF_INSN_SIZE);
  for (let slot = 0; slot < n; ) {
    const at = slot * BPF_INSN_SIZE;
    if (at + BPF_INSN_SIZE > bytes.byteLength) {
      out.push({ slot, size: 1, bytes: bytes.subarray(at), text: unknown(bytes[at]) });
      break;
    }
    const regs = dv.getUint8(at + 1);
    const insn: Insn = {
      code: dv.getUint8(at),
      dst: regs & 0x0f,
      src: regs >> 4,
      off: dv.getInt16(at + 2, true),
      imm: dv.getInt32(at + 4, true),
    };
    let size: 1 | 2 = 1;
    if (insn.code === BPF_LD_IMM64 && at + 2 * BPF_INSN_SIZE <= bytes.byteLength) {
      const hi = dv.getUint32(at + BPF_INSN_SIZE + 4, true);
      insn.imm64 = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(insn.imm >>> 0));
      size = 2;
    }
    const text = disassembleInsn(insn, opts, slot);
    // An undecodable ld_imm64 consumes one slot, as in llvm-objdump, so that decoding
    // resynchronises on the next slot.
    if (text.startsWith("<unknown")) size = 1;
    out.push({ slot, size, bytes: bytes.subarray(at, at + size * BPF_INSN_SIZE), text });
    slot += size;
  }
  return out;
}
