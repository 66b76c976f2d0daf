// ELF64 little-endian relocatable-object reader for BPF (e_machine EM_BPF).
// Pure: bytes in, plain objects out. Every offset, size and index read from the
// file is checked against the file (or the table it indexes) before it is used,
// so a hostile object ends in an ElfError, never a RangeError, a hang or a huge
// allocation. Layouts follow the System V gABI ("Object Files") and <elf.h>.
import {
  EHDR_SIZE,
  EI_CLASS,
  EI_DATA,
  EI_VERSION,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFMAG,
  EM_BPF,
  ET_REL,
  EV_CURRENT,
  REL_SIZE,
  RELA_SIZE,
  SHDR_SIZE,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  SYM_SIZE,
} from "./consts.ts";
import { ElfError, hex } from "./errors.ts";
import { Reader, readString } from "./reader.ts";

export * from "./consts.ts";
export { readString } from "./reader.ts";

const MACHINE_NAMES: Record<number, string> = {
  3: "i386",
  62: "x86-64",
  40: "ARM",
  183: "AArch64",
  243: "RISC-V",
};

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** The section's bytes (a view into the file); empty for SHT_NOBITS and SHT_NULL. */
  data: Uint8Array;
}

export interface ElfSymbol {
  index: number;
  name: string;
  value: number;
  size: number;
  /** STT_* */
  type: number;
  /** STB_* */
  bind: number;
  /** STV_* */
  visibility: number;
  /** Section index after SHN_XINDEX resolution (SHN_UNDEF, SHN_ABS, ... kept as is). */
  shndx: number;
}

export interface ElfRelocation {
  /** r_offset: byte offset in the target section. */
  offset: number;
  /** Symbol table index. */
  symbol: number;
  /** R_BPF_* */
  type: number;
  /** r_addend for SHT_RELA (0 for SHT_REL). */
  addend: number;
}

export interface ElfRelSection {
  section: ElfSection;
  /** Index of the section the relocations apply to (sh_info). */
  target: number;
  /**
   * The entries, decoded and checked on first read (a bad entry throws ElfError then).
   * Most relocation sections of a BPF object are for .BTF.ext and DWARF, which the
   * loader never reads (libbpf ignores them too): process.bpf.o has ~1,700 entries of
   * which ~60 patch code.
   */
  readonly relocations: ElfRelocation[];
}

export interface ElfFile {
  name: string;
  type: number;
  machine: number;
  flags: number;
  sections: ElfSection[];
  /** All symbols including the null symbol at index 0; empty when there is no symtab. */
  symbols: ElfSymbol[];
  relSections: ElfRelSection[];
}

function checkIdent(r: Reader): void {
  const { name } = r;
  // Magic before size: a short text file is "not an ELF file", not a truncated one.
  if (r.bytes.length === 0) {
    throw new ElfError(name, 0, 'empty file, expected an ELF BPF object (starting 7f 45 4c 46 "\\x7fELF")');
  }
  for (let i = 0; i < Math.min(4, r.bytes.length); i++) {
    if (r.u8(i) !== ELFMAG[i]) {
      throw new ElfError(
        name,
        i,
        `not an ELF file: bad magic at offset ${hex(i)}, expected 7f 45 4c 46 ("\\x7fELF")`,
      );
    }
  }
  r.need(0, EHDR_SIZE, "ELF header");
  const cls = r.u8(EI_CLASS);
  if (cls !== ELFCLASS64) {
    const what = cls === 1 ? " (ELFCLASS32)" : "";
    throw new ElfError(
      name,
      EI_CLASS,
      `not ELF64: EI_CLASS at offset 0x4 is ${cls}${what}, expected 2 (ELFCLASS64)`,
    );
  }
  const data = r.u8(EI_DATA);
  if (data !== ELFDATA2LSB) {
    const what = data === 2 ? " (ELFDATA2MSB, big-endian)" : "";
    throw new ElfError(
      name,
      EI_DATA,
      `not little-endian: EI_DATA at offset 0x5 is ${data}${what}, expected 1 (ELFDATA2LSB)`,
    );
  }
  const ver = r.u8(EI_VERSION);
  if (ver !== EV_CURRENT) {
    throw new ElfError(name, EI_VERSION, `EI_VERSION at offset 0x6 is ${ver}, expected 1 (EV_CURRENT)`);
  }
  const machine = r.u16(18);
  if (machine !== EM_BPF) {
    const what = MACHINE_NAMES[machine] ? ` (${MACHINE_NAMES[machine]})` : "";
    throw new ElfError(
      name,
      18,
      `not a BPF object: e_machine at offset 0x12 is ${machine}${what}, expected 247 (EM_BPF)`,
    );
  }
  const type = r.u16(16);
  if (type !== ET_REL) {
    const kinds: Record<number, string> = { 0: "ET_NONE", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE" };
    const what = kinds[type] ? ` (${kinds[type]})` : "";
    throw new ElfError(
      name,
      16,
      `e_type at offset 0x10 is ${type}${what}, expected 1 (ET_REL, a relocatable object)`,
    );
  }
}

/** Parses and validates an ELF64 BPF relocatable object. `name` is used in error messages. */
export function parseElf(bytes: Uint8Array, name: string): ElfFile {
  const r = new Reader(bytes, name);
  checkIdent(r);
  const shoff = r.u64(40, "e_shoff");
  const shentsize = r.u16(58);
  let shnum = r.u16(60);
  let shstrndx = r.u16(62);
  if (shoff === 0)
    throw new ElfError(name, 40, "e_shoff at offset 0x28 is 0: the object has no section header table");
  if (shentsize !== SHDR_SIZE) {
    throw new ElfError(name, 58, `e_shentsize at offset 0x3a is ${shentsize}, expected ${SHDR_SIZE}`);
  }
  r.need(shoff, SHDR_SIZE, "section header 0");
  // gABI extended numbering: e_shnum 0 → count in section 0's sh_size;
  // e_shstrndx SHN_XINDEX → index in section 0's sh_link.
  if (shnum === 0) shnum = r.u64(shoff + 32, "section 0 sh_size (extended e_shnum)");
  if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + 40);
  if (shnum === 0) throw new ElfError(name, 60, "e_shnum at offset 0x3c is 0: the object has no sections");
  if (shnum > (bytes.length - shoff) / SHDR_SIZE) {
    throw new ElfError(
      name,
      shoff,
      `truncated: section header table at ${hex(shoff)} needs ${shnum * SHDR_SIZE} bytes but the file ends at ${hex(bytes.length)}`,
    );
  }
  if (shstrndx === SHN_UNDEF || shstrndx >= shnum) {
    throw new ElfError(
      name,
      62,
      `e_shstrndx at offset 0x3e is ${shstrndx}, expected a section index in 1..${shnum - 1}`,
    );
  }

  const sections: ElfSection[] = [];
  const nameOffs: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * SHDR_SIZE;
    const type = r.u32(h + 4);
    const offset = r.u64(h + 24, `section ${i} sh_offset`);
    const size = r.u64(h + 32, `section ${i} sh_size`);
    const link = r.u32(h + 40);
    const info = r.u32(h + 44);
    const hasBytes = type !== SHT_NOBITS && type !== SHT_NULL;
    if (hasBytes && (offset > bytes.length || size > bytes.length - offset)) {
      throw new ElfError(
        name,
        h + 24,
        `truncated: section ${i} at ${hex(offset)} needs ${size} bytes but the file ends at ${hex(bytes.length)}`,
      );
    }
    // sh_link/sh_info hold section indexes for these types (gABI Figure 4-12).
    const linksSection =
      type === SHT_SYMTAB || type === SHT_REL || type === SHT_RELA || type === SHT_SYMTAB_SHNDX;
    if (linksSection && (link === 0 || link >= shnum)) {
      throw new ElfError(
        name,
        h + 40,
        `section ${i} sh_link at ${hex(h + 40)} is ${link}, expected a section index in 1..${shnum - 1}`,
      );
    }
    if ((type === SHT_REL || type === SHT_RELA) && info >= shnum) {
      throw new ElfError(
        name,
        h + 44,
        `section ${i} sh_info at ${hex(h + 44)} is ${info}, expected a section index below ${shnum}`,
      );
    }
    nameOffs.push(r.u32(h));
    sections.push({
      index: i,
      name: "",
      type,
      flags: r.u64(h + 8, `section ${i} sh_flags`),
      addr: r.u64(h + 16, `section ${i} sh_addr`),
      offset,
      size,
      link,
      info,
      addralign: r.u64(h + 48, `section ${i} sh_addralign`),
      entsize: r.u64(h + 56, `section ${i} sh_entsize`),
      data: hasBytes ? bytes.subarray(offset, offset + size) : new Uint8Array(0),
    });
  }
  const shstrtab = sections[shstrndx] as ElfSection;
  if (shstrtab.type !== SHT_STRTAB) {
    throw new ElfError(
      name,
      62,
      `e_shstrndx names section ${shstrndx} of type ${shstrtab.type}, expected SHT_STRTAB (3)`,
    );
  }
  for (const s of sections) {
    s.name = readString(name, shstrtab, nameOffs[s.index] as number, `section ${s.index} sh_name`);
  }

  const symbols = parseSymbols(r, sections);
  const relSections: ElfRelSection[] = [];
  for (const s of sections) {
    if (s.type === SHT_REL || s.type === SHT_RELA)
      relSections.push(relSection(r, sections, s, symbols.length));
  }
  return { name, type: r.u16(16), machine: r.u16(18), flags: r.u32(48), sections, symbols, relSections };
}

/**
 * A table section (symbols, relocations) holds whole entries of `entsize` bytes, and its
 * sh_entsize says so (gABI "Sections"; 0 is tolerated where `zeroOk`, as readelf does).
 */
function checkTableShape(file: string, s: ElfSection, what: string, entsize: number, zeroOk: boolean): void {
  if (s.entsize !== entsize && !(zeroOk && s.entsize === 0)) {
    throw new ElfError(file, s.offset, `${what} has sh_entsize ${s.entsize}, expected ${entsize}`);
  }
  if (s.size % entsize !== 0) {
    throw new ElfError(file, s.offset, `${what} size ${s.size} is not a multiple of ${entsize}`);
  }
}

function parseSymbols(r: Reader, sections: ElfSection[]): ElfSymbol[] {
  const name = r.name;
  const tabs = sections.filter((s) => s.type === SHT_SYMTAB);
  if (tabs.length === 0) return [];
  if (tabs.length > 1)
    throw new ElfError(name, tabs[1]?.offset, "more than one SHT_SYMTAB section; expected one");
  const symtab = tabs[0] as ElfSection;
  checkTableShape(name, symtab, `symbol table '${symtab.name}'`, SYM_SIZE, false);
  const strtab = sections[symtab.link] as ElfSection;
  if (strtab.type !== SHT_STRTAB) {
    throw new ElfError(
      name,
      symtab.offset,
      `symbol table sh_link ${symtab.link} is section '${strtab.name}' of type ${strtab.type}, expected SHT_STRTAB (3)`,
    );
  }
  const count = symtab.size / SYM_SIZE;
  const xindex = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  if (xindex && xindex.size < count * 4) {
    throw new ElfError(
      name,
      xindex.offset,
      `SHT_SYMTAB_SHNDX section '${xindex.name}' has ${xindex.size} bytes, expected ${count * 4} (4 per symbol)`,
    );
  }
  const out: ElfSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const o = symtab.offset + i * SYM_SIZE;
    const info = r.u8(o + 4);
    let shndx = r.u16(o + 6);
    if (shndx === SHN_XINDEX) {
      if (!xindex)
        throw new ElfError(
          name,
          o + 6,
          `symbol ${i} st_shndx is SHN_XINDEX but there is no SHT_SYMTAB_SHNDX section`,
        );
      shndx = r.u32(xindex.offset + i * 4);
    }
    if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= sections.length) {
      throw new ElfError(
        name,
        o + 6,
        `symbol ${i} st_shndx at ${hex(o + 6)} is ${shndx}, expected a section index below ${sections.length}`,
      );
    }
    out.push({
      index: i,
      name: readString(name, strtab, r.u32(o), `symbol ${i} st_name`),
      value: r.u64(o + 8, `symbol ${i} st_value`),
      size: r.u64(o + 16, `symbol ${i} st_size`),
      type: info & 0xf,
      bind: info >> 4,
      visibility: r.u8(o + 5) & 0x3,
      shndx,
    });
  }
  return out;
}

/** Checks a relocation section's header now; its entries are decoded when first read. */
function relSection(r: Reader, sections: ElfSection[], s: ElfSection, nsyms: number): ElfRelSection {
  const name = r.name;
  const entsize = s.type === SHT_RELA ? RELA_SIZE : REL_SIZE;
  checkTableShape(name, s, `relocation section '${s.name}'`, entsize, true);
  const linked = sections[s.link] as ElfSection;
  if (linked.type !== SHT_SYMTAB) {
    throw new ElfError(
      name,
      s.offset,
      `relocation section '${s.name}' sh_link ${s.link} is '${linked.name}', expected the SHT_SYMTAB section`,
    );
  }
  let entries: ElfRelocation[] | undefined;
  return {
    section: s,
    target: s.info,
    get relocations(): ElfRelocation[] {
      entries ??= parseRelEntries(r, sections, s, nsyms);
      return entries;
    },
  };
}

function parseRelEntries(r: Reader, sections: ElfSection[], s: ElfSection, nsyms: number): ElfRelocation[] {
  const name = r.name;
  const rela = s.type === SHT_RELA;
  const entsize = rela ? RELA_SIZE : REL_SIZE;
  const target = sections[s.info] as ElfSection;
  const relocations: ElfRelocation[] = [];
  for (let o = s.offset; o < s.offset + s.size; o += entsize) {
    let offset = r.u64OrNeg(o);
    if (offset < 0) offset = r.u64(o, `relocation r_offset in '${s.name}'`);
    const type = r.u32(o + 8);
    const symbol = r.u32(o + 12);
    if (symbol >= nsyms) {
      throw new ElfError(
        name,
        o + 12,
        `relocation at ${hex(o)} in '${s.name}' names symbol ${symbol}, but the symbol table has ${nsyms}`,
      );
    }
    if (offset >= target.size) {
      throw new ElfError(
        name,
        o,
        `relocation at ${hex(o)} in '${s.name}' has r_offset ${offset}, outside '${target.name}' (${target.size} bytes)`,
      );
    }
    relocations.push({ offset, symbol, type, addend: rela ? r.i64(o + 16) : 0 });
  }
  return relocations;
}

/** The section named `name`, if any. */
export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}
