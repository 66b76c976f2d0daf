// Splits the per-section .BTF.ext records (func_info, line_info, CO-RE relocations)
// among the functions of each section, with instruction indexes made relative to
// the function start, as the kernel expects per program (bpf_func_info.insn_off is
// in instructions from the program start; libbpf does the same split when it
// appends subprograms).
import type { Btf } from "../btf/btf.ts";
import { type BtfExt, parseBtfExt } from "../btf/ext.ts";
import type { FunctionSpec } from "../spec.ts";
import type { ElfFile } from "./elf.ts";
import { ElfError } from "./errors.ts";

const INSN_SIZE = 8;

export function attachBtfExt(
  bytes: Uint8Array,
  btf: Btf,
  path: string,
  elf: ElfFile,
  functions: Map<number, FunctionSpec[]>,
): BtfExt {
  const ext = parseBtfExt(bytes, btf, `${path} (.BTF.ext)`);
  const bySection = new Map<string, FunctionSpec[]>();
  for (const [idx, list] of functions) bySection.set(elf.sections[idx]?.name ?? "", list);

  // Finds the function holding byte offset `off` of `section`; records outside any
  // function mean the .BTF.ext does not describe this object.
  const owner = (
    section: string,
    off: number,
    what: string,
  ): { fn: FunctionSpec; insn: number } | undefined => {
    const list = bySection.get(section);
    if (!list) return undefined;
    const fn = list.find((f) => off >= f.offset && off < f.offset + f.insns.length);
    if (!fn || off % INSN_SIZE !== 0) {
      throw new ElfError(
        elf.name,
        undefined,
        `.BTF.ext ${what} record at byte ${off} of section '${section}' is not on an instruction of any function`,
      );
    }
    return { fn, insn: (off - fn.offset) / INSN_SIZE };
  };

  for (const [section, recs] of ext.funcInfo) {
    for (const r of recs) {
      const o = owner(section, r.insnOff, "func_info");
      if (o) o.fn.funcInfo.push({ insn: o.insn, typeId: r.typeId });
    }
  }
  for (const [section, recs] of ext.lineInfo) {
    for (const r of recs) {
      const o = owner(section, r.insnOff, "line_info");
      if (!o) continue;
      o.fn.lineInfo.push({
        insn: o.insn,
        fileName: r.fileName,
        line: r.line,
        lineNumber: r.lineNumber,
        column: r.column,
        fileNameOff: r.fileNameOff,
        lineOff: r.lineOff,
        lineCol: r.lineCol,
      });
    }
  }
  for (const [section, recs] of ext.coreRelos) {
    for (const r of recs) {
      const o = owner(section, r.insn * INSN_SIZE, "CO-RE relocation");
      if (o) o.fn.coreRelos.push({ ...r, insn: o.insn });
    }
  }
  return ext;
}
