// ELF object → CollectionSpec: functions (programs and subprograms), relocations,
// maps, global data, externs, license and BTF. Pure: bytes in, spec out.
// Which function is a program and how each relocation is read follow libbpf's
// bpf_object__add_programs() and bpf_program__record_reloc(); the code is ours.
import { Btf } from "../btf/btf.ts";
import type {
  CollectionSpec,
  ElfLayout,
  FunctionSpec,
  MapSpec,
  ProgramSpec,
  RelocationSpec,
} from "../spec.ts";
import { BPF_CALL, BPF_JMP, BPF_LD_IMM64, BPF_PSEUDO_CALL } from "../uapi.ts";
import { attachBtfExt } from "./btfext.ts";
import { fixupDatasecs } from "./datasec.ts";
import {
  type ElfFile,
  type ElfSection,
  type ElfSymbol,
  findSection,
  parseElf,
  SHF_EXECINSTR,
  SHT_PROGBITS,
  STB_LOCAL,
  STT_FUNC,
  STT_SECTION,
} from "./elf.ts";
import { ElfError, hex } from "./errors.ts";
import { isExternSymbol, readExterns } from "./externs.ts";
import {
  dataSectionKind,
  kconfigMap,
  type MapDefLocation,
  objectName,
  readBtfMaps,
  readDataMaps,
} from "./maps.ts";
import { programTypeForSection, unknownProgramType } from "./sections.ts";

const INSN_SIZE = 8;
const CALL = BPF_JMP | BPF_CALL;

/** Reads a BPF object file's bytes into a CollectionSpec. `path` names the file in errors. */
export function readCollectionSpec(bytes: Uint8Array, path: string): CollectionSpec {
  const elf = parseElf(bytes, path);

  const btfSec = findSection(elf, ".BTF");
  // A private copy: the DATASEC fix-up below patches it.
  let btf = btfSec ? Btf.parse(btfSec.data.slice(), { name: `${path} (.BTF)` }) : undefined;

  const objName = objectName(path);
  const mapsSec = findSection(elf, ".maps");
  const btfMaps = mapsSec ? readBtfMaps(elf, btf, mapsSec) : [];
  const dataMaps = readDataMaps(elf, btf, objName);
  const { externs, kconfigSize } = readExterns(elf, btf);
  if (btf) btf = fixupDatasecs(btf, elf, externs, `${path} (.BTF)`);

  const functions = readFunctions(elf);
  const ctx: RelocContext = { elf, functions, btfMaps, dataMaps, mapsSec };
  for (const rs of elf.relSections) {
    const target = elf.sections[rs.target];
    if (!target || !isCode(target)) continue;
    for (const rel of rs.relocations) addRelocation(ctx, target, rel.offset, rel.symbol);
  }
  addLocalCalls(ctx);
  if (mapsSec) readInitialSlots(elf, mapsSec, btfMaps);

  const btfExtSec = findSection(elf, ".BTF.ext");
  const btfExt = btf && btfExtSec ? attachBtfExt(btfExtSec.data, btf, path, elf, functions) : undefined;

  const programs = classify(elf, functions);
  // The functions map holds the ProgramSpec objects themselves, so an edit to a
  // program (before loading) is seen through either view.
  const byKey = new Map<string, FunctionSpec>([...functions.values()].flat().map((f) => [f.key, f]));
  for (const p of programs) byKey.set(p.key, p);

  const maps: MapSpec[] = [...btfMaps.map((m) => m.spec), ...dataMaps.values()];
  if (externs.some((e) => e.kind === "kconfig")) maps.push(kconfigMap(objName, btf, kconfigSize));

  return {
    path,
    license: readLicense(elf),
    kernelVersion: readVersion(elf),
    programs,
    functions: byKey,
    maps,
    externs,
    btf,
    btfExt,
    elfLayout: readElfLayout(elf),
  };
}

/** Section sizes and data-symbol offsets, for the loader's DATASEC fix-up (see ElfLayout). */
function readElfLayout(elf: ElfFile): ElfLayout {
  const sectionSizes = new Map<string, number>();
  for (const s of elf.sections) if (s.name) sectionSizes.set(s.name, s.size);
  const symbols: ElfLayout["symbols"] = new Map();
  for (const sym of elf.symbols) {
    const sec = elf.sections[sym.shndx];
    if (!sec || sym.shndx === 0 || sym.type === STT_SECTION || sym.type === STT_FUNC || !sym.name) continue;
    // STV_INTERNAL = 1, STV_HIDDEN = 2 (ELF gABI).
    const hidden = sym.visibility === 1 || sym.visibility === 2;
    symbols.set(sym.name, { section: sec.name, offset: sym.value, hidden });
  }
  return { sectionSizes, symbols };
}

function isCode(s: ElfSection): boolean {
  return s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0;
}

/** Per code section, its STT_FUNC symbols as FunctionSpecs sorted by offset. */
function readFunctions(elf: ElfFile): Map<number, FunctionSpec[]> {
  const out = new Map<number, FunctionSpec[]>();
  for (const s of elf.sections) if (isCode(s)) out.set(s.index, []);
  for (const sym of elf.symbols) {
    if (sym.type !== STT_FUNC) continue;
    const list = out.get(sym.shndx);
    if (!list) continue;
    const sec = elf.sections[sym.shndx] as ElfSection;
    if (sym.value % INSN_SIZE !== 0 || sym.size % INSN_SIZE !== 0 || sym.size === 0) {
      throw new ElfError(
        elf.name,
        undefined,
        `function '${sym.name}' in '${sec.name}' has offset ${sym.value} and size ${sym.size}, expected non-zero multiples of ${INSN_SIZE}`,
      );
    }
    if (sym.value + sym.size > sec.size) {
      throw new ElfError(
        elf.name,
        sec.offset + sym.value,
        `function '${sym.name}' at offset ${sym.value} (${sym.size} bytes) crosses the end of section '${sec.name}' (${sec.size} bytes)`,
      );
    }
    list.push({
      name: sym.name,
      key: `${sec.name}:${sym.value}`,
      section: sec.name,
      sectionIndex: sec.index,
      offset: sym.value,
      insns: sec.data.subarray(sym.value, sym.value + sym.size),
      global: sym.bind !== STB_LOCAL,
      relocations: [],
      funcInfo: [],
      lineInfo: [],
      coreRelos: [],
    });
  }
  for (const [idx, list] of out) {
    list.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as FunctionSpec;
      const cur = list[i] as FunctionSpec;
      if (cur.offset < prev.offset + prev.insns.length) {
        throw new ElfError(
          elf.name,
          undefined,
          `functions '${prev.name}' and '${cur.name}' overlap in section '${elf.sections[idx]?.name}'`,
        );
      }
    }
  }
  return out;
}

/** The function of `sectionIndex` that contains byte `offset`. */
export function functionAt(
  functions: Map<number, FunctionSpec[]>,
  sectionIndex: number,
  offset: number,
): FunctionSpec | undefined {
  for (const f of functions.get(sectionIndex) ?? []) {
    if (offset >= f.offset && offset < f.offset + f.insns.length) return f;
  }
  return undefined;
}

interface RelocContext {
  elf: ElfFile;
  functions: Map<number, FunctionSpec[]>;
  btfMaps: MapDefLocation[];
  dataMaps: Map<number, MapSpec>;
  mapsSec: ElfSection | undefined;
}

function symName(elf: ElfFile, sym: ElfSymbol): string {
  if (sym.type === STT_SECTION && sym.name === "") return elf.sections[sym.shndx]?.name ?? "";
  return sym.name;
}

function addRelocation(ctx: RelocContext, sec: ElfSection, offset: number, symIndex: number): void {
  const { elf } = ctx;
  const file = elf.name;
  const fn = functionAt(ctx.functions, sec.index, offset);
  if (!fn)
    throw new ElfError(
      file,
      sec.offset + offset,
      `relocation at offset ${offset} of '${sec.name}' is not inside any function`,
    );
  if ((offset - fn.offset) % INSN_SIZE !== 0) {
    throw new ElfError(
      file,
      sec.offset + offset,
      `relocation at offset ${offset} of '${sec.name}' is not on an instruction boundary`,
    );
  }
  const insn = (offset - fn.offset) / INSN_SIZE;
  const at = `relocation for ${fn.name} insn ${insn} ('${sec.name}' offset ${offset})`;
  const sym = elf.symbols[symIndex] as ElfSymbol;
  const symbol = symName(elf, sym);
  const code = sec.data[offset] as number;
  const srcReg = (sec.data[offset + 1] as number) >> 4;
  const imm = new DataView(sec.data.buffer, sec.data.byteOffset + offset + 4, 4).getInt32(0, true);
  if (code !== BPF_LD_IMM64 && code !== CALL) {
    throw new ElfError(
      file,
      sec.offset + offset,
      `${at}: instruction opcode ${hex(code)} is neither ld_imm64 (0x18) nor call (0x85)`,
    );
  }
  if (code === BPF_LD_IMM64 && offset + 2 * INSN_SIZE > fn.offset + fn.insns.length) {
    throw new ElfError(
      file,
      sec.offset + offset,
      `${at}: ld_imm64 needs two instruction slots but the function ends`,
    );
  }
  const push = (r: RelocationSpec) => fn.relocations.push(r);

  if (isExternSymbol(sym)) {
    push({ kind: "extern", insn, symbol, name: sym.name });
    return;
  }
  const target = elf.sections[sym.shndx];
  if (!target || sym.shndx === 0) {
    throw new ElfError(
      file,
      sec.offset + offset,
      `${at}: symbol '${symbol}' is in special section ${hex(sym.shndx)}; forgot to initialise a global variable?`,
    );
  }
  if (code === CALL) {
    if (srcReg !== BPF_PSEUDO_CALL)
      throw new ElfError(
        file,
        sec.offset + offset,
        `${at}: call with src_reg ${srcReg} against '${symbol}', expected ${BPF_PSEUDO_CALL} (BPF_PSEUDO_CALL)`,
      );
    // libbpf: callee instruction = st_value/8 + imm + 1 (global calls have imm -1;
    // static calls go through the section symbol with imm pointing at the callee).
    const to = sym.value + (imm + 1) * INSN_SIZE;
    push({ kind: "call", insn, symbol, target: calleeKey(ctx, target, to, at) });
    return;
  }
  if (isCode(target)) {
    // Function address (bpf_loop callbacks): byte offset st_value + imm.
    push({ kind: "func", insn, symbol, target: calleeKey(ctx, target, sym.value + imm, at) });
    return;
  }
  if (ctx.mapsSec && target.index === ctx.mapsSec.index) {
    const m = ctx.btfMaps.find((d) => d.offset === sym.value);
    if (!m)
      throw new ElfError(
        file,
        sec.offset + offset,
        `${at}: no map defined at offset ${sym.value} of '.maps'`,
      );
    push({ kind: "map", insn, symbol, map: m.spec.name });
    return;
  }
  const dm = ctx.dataMaps.get(target.index);
  if (dm && dataSectionKind(target)) {
    push({ kind: "data", insn, symbol, map: dm.name, offset: sym.value + imm });
    return;
  }
  throw new ElfError(
    file,
    sec.offset + offset,
    `${at}: symbol '${symbol}' is in section '${target.name}', which is not code, '.maps' or global data`,
  );
}

function calleeKey(ctx: RelocContext, sec: ElfSection, byteOff: number, at: string): string {
  const f = (ctx.functions.get(sec.index) ?? []).find((x) => x.offset === byteOff);
  if (!f)
    throw new ElfError(
      ctx.elf.name,
      undefined,
      `${at}: no function starts at offset ${byteOff} of '${sec.name}'`,
    );
  return f.key;
}

/**
 * Calls to a static function in the same section need no relocation: llvm resolves
 * them pc-relative (callee = insn + imm + 1). Record them as call relocations too,
 * so the loader sees every edge of the call graph.
 */
function addLocalCalls(ctx: RelocContext): void {
  for (const [idx, list] of ctx.functions) {
    const sec = ctx.elf.sections[idx] as ElfSection;
    for (const fn of list) {
      const dv = new DataView(fn.insns.buffer, fn.insns.byteOffset, fn.insns.byteLength);
      const seen = new Set(fn.relocations.map((r) => r.insn));
      const n = fn.insns.length / INSN_SIZE;
      for (let i = 0; i < n; i++) {
        const code = dv.getUint8(i * INSN_SIZE);
        if (code === BPF_LD_IMM64) {
          i++;
          continue;
        }
        if (code !== CALL || dv.getUint8(i * INSN_SIZE + 1) >> 4 !== BPF_PSEUDO_CALL || seen.has(i)) continue;
        const to = fn.offset + (i + dv.getInt32(i * INSN_SIZE + 4, true) + 1) * INSN_SIZE;
        const at = `call in ${fn.name} insn ${i}`;
        fn.relocations.push({ kind: "call", insn: i, symbol: "", target: calleeKey(ctx, sec, to, at) });
      }
      fn.relocations.sort((a, b) => a.insn - b.insn);
    }
  }
}

/** `.values = { [i] = &inner }` in map-in-map and prog-array definitions: R_BPF_64_ABS64 relocations into `.maps`. */
function readInitialSlots(elf: ElfFile, mapsSec: ElfSection, maps: MapDefLocation[]): void {
  for (const rs of elf.relSections) {
    if (rs.target !== mapsSec.index) continue;
    for (const rel of rs.relocations) {
      const m = maps.find((d) => rel.offset >= d.offset && rel.offset < d.offset + d.size);
      const sym = elf.symbols[rel.symbol] as ElfSymbol;
      if (!m || m.valuesOffset < 0 || rel.offset < m.offset + m.valuesOffset) {
        throw new ElfError(
          elf.name,
          mapsSec.offset + rel.offset,
          `relocation at offset ${rel.offset} of '.maps' (to '${sym.name}') is not inside a map's 'values' array`,
        );
      }
      const rel8 = rel.offset - m.offset - m.valuesOffset;
      if (rel8 % 8 !== 0)
        throw new ElfError(
          elf.name,
          mapsSec.offset + rel.offset,
          `relocation at offset ${rel.offset} of '.maps' is not aligned to a 'values' slot`,
        );
      m.spec.initialSlots?.push({ index: rel8 / 8, name: sym.name });
    }
  }
  for (const m of maps) m.spec.initialSlots?.sort((a, b) => a.index - b.index);
}

/**
 * Programs are the functions of program sections (anything but .text); a static
 * function there that another function calls is a subprogram (libbpf refuses such
 * statics; we accept them as helpers). Everything in .text is a subprogram.
 */
function classify(elf: ElfFile, functions: Map<number, FunctionSpec[]>): ProgramSpec[] {
  const called = new Set<string>();
  for (const list of functions.values()) {
    for (const f of list)
      for (const r of f.relocations) if (r.kind === "call" || r.kind === "func") called.add(r.target);
  }
  const programs: ProgramSpec[] = [];
  for (const [idx, list] of functions) {
    const sec = elf.sections[idx] as ElfSection;
    if (sec.name === ".text") continue;
    for (const f of list) {
      if (!f.global && called.has(f.key)) continue;
      const info = programTypeForSection(sec.name) ?? unknownProgramType();
      programs.push({ ...f, ...info });
    }
  }
  return programs;
}

function readLicense(elf: ElfFile): string {
  const s = findSection(elf, "license");
  if (!s) return "";
  const end = s.data.indexOf(0);
  return new TextDecoder().decode(s.data.subarray(0, end < 0 ? s.data.length : end));
}

function readVersion(elf: ElfFile): number {
  const s = findSection(elf, "version");
  if (!s) return 0;
  if (s.data.length !== 4)
    throw new ElfError(
      elf.name,
      s.offset,
      `section 'version' is ${s.data.length} bytes, expected 4 (a u32 kernel version)`,
    );
  return new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, true);
}
