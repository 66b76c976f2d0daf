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

  // Finds the function holding byte offset `off` of `section` (records are sorted by
  // offset, so `hint`, the previous record's function, usually holds it already).
  // Records outside any function mean the .BTF.ext does not describe this object.
  const owner = (
    list: FunctionSpec[],
    hint: FunctionSpec | undefined,
    section: string,
    off: number,
    what: string,
  ): FunctionSpec => {
    let fn = hint;
    if (!fn || off < fn.offset || off >= fn.offset + fn.insns.length) {
      fn = list.find((f) => off >= f.offset && off < f.offset + f.insns.length);
    }
    if (!fn || off % INSN_SIZE !== 0) {
      throw new ElfError(
        elf.name,
        undefined,
        `.BTF.ext ${what} record at byte ${off} of section '${section}' is not on an instruction of any function`,
      );
    }
    return fn;
  };

  for (const [section, recs] of ext.funcInfo) {
    const list = bySection.get(section);
    if (!list) continue;
    let fn: FunctionSpec | undefined;
    for (const r of recs) {
      fn = owner(list, fn, section, r.insnOff, "func_info");
      fn.funcInfo.push({ insn: (r.insnOff - fn.offset) / INSN_SIZE, typeId: r.typeId });
    }
  }
  for (const [section, recs] of ext.lineInfo) {
    const list = bySection.get(section);
    if (!list) continue;
    let fn: FunctionSpec | undefined;
    for (const r of recs) {
      fn = owner(list, fn, section, r.insnOff, "line_info");
      fn.lineInfo.push(r.at((r.insnOff - fn.offset) / INSN_SIZE));
    }
  }
  for (const [section, recs] of ext.coreRelos) {
    const list = bySection.get(section);
    if (!list) continue;
    let fn: FunctionSpec | undefined;
    for (const r of recs) {
      const off = r.insn * INSN_SIZE;
      fn = owner(list, fn, section, off, "CO-RE relocation");
      fn.coreRelos.push({
        insn: (off - fn.offset) / INSN_SIZE,
        typeId: r.typeId,
        accessStr: r.accessStr,
        kind: r.kind,
      });
    }
  }
  return ext;
}
