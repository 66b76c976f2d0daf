// Immediates and displacements as llvm-objdump prints BPF operands (formatImm in hex
// mode), shared by the llvm-exact and the symbolic disassembly.

/** llvm's formatImm in hex mode: `0x1f`, `-0x8`. */
export function hex(v: number | bigint): string {
  return v < 0 ? `-0x${(-BigInt(v)).toString(16)}` : `0x${v.toString(16)}`;
}

/** Signed displacement of a jump or pseudo-call: `+0x1`, `+0x0`, `-0x3`. */
export function rel(v: number): string {
  return v < 0 ? hex(v) : `+${hex(v)}`;
}
