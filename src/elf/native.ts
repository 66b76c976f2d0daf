// Symbols of native ELF64 executables and shared libraries (ET_EXEC / ET_DYN), for
// uprobes: a function's file offset is its st_value (a virtual address) moved into the
// PT_LOAD segment holding it: vaddr - p_vaddr + p_offset (gABI "Program Loading").
// The kernel's uprobe takes that file offset (perf_event_attr.probe_offset), not the
// address. Pure: bytes in, plain objects out, every table bounds-checked.
import { ElfError, hex } from "./errors.ts";
import { Reader } from "./reader.ts";

const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHN_UNDEF = 0;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const ET_EXEC = 2;
const ET_DYN = 3;

export interface NativeSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export interface NativeSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_* (2 FUNC, 10 GNU_IFUNC, ...) */
  type: number;
  /** STB_* */
  bind: number;
  /** ".symtab" or ".dynsym" */
  table: string;
}

export interface NativeElf {
  name: string;
  /** ET_EXEC or ET_DYN */
  type: number;
  machine: number;
  segments: NativeSegment[];
  /** Defined symbols of .symtab then .dynsym, found by name through `lookup`. */
  lookup(symbol: string): NativeSymbol[];
}

/** Parses the headers of an ELF64 little-endian executable or shared object. */
export function parseNativeElf(bytes: Uint8Array, name: string): NativeElf {
  const r = new Reader(bytes, name);
  r.need(0, 64, "ELF header");
  if (r.u32(0) !== 0x464c457f) throw new ElfError(name, 0, 'not an ELF file (no "\\x7fELF" magic)');
  if (r.u8(4) !== 2 || r.u8(5) !== 1) throw new ElfError(name, 4, "not an ELF64 little-endian file");
  const type = r.u16(16);
  if (type !== ET_EXEC && type !== ET_DYN)
    throw new ElfError(name, 16, `e_type is ${type}, expected an executable (2) or a shared object (3)`);
  const segments: NativeSegment[] = [];
  const phoff = r.u64(32, "e_phoff");
  const phentsize = r.u16(54);
  const phnum = r.u16(56);
  if (phnum > 0 && phentsize !== 56) throw new ElfError(name, 54, `e_phentsize is ${phentsize}, expected 56`);
  r.need(phoff, phnum * 56, "program header table");
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * 56;
    segments.push({
      type: r.u32(h),
      flags: r.u32(h + 4),
      offset: r.u64(h + 8, `segment ${i} p_offset`),
      vaddr: r.u64(h + 16, `segment ${i} p_vaddr`),
      filesz: r.u64(h + 32, `segment ${i} p_filesz`),
      memsz: r.u64(h + 40, `segment ${i} p_memsz`),
    });
  }
  const shoff = r.u64(40, "e_shoff");
  const shentsize = r.u16(58);
  const shnum = r.u16(60);
  const tables: { table: string; syms: Uint8Array; strs: Uint8Array }[] = [];
  if (shoff !== 0 && shnum > 0) {
    if (shentsize !== 64) throw new ElfError(name, 58, `e_shentsize is ${shentsize}, expected 64`);
    r.need(shoff, shnum * 64, "section header table");
    const section = (i: number) => {
      const h = shoff + i * 64;
      const off = r.u64(h + 24, `section ${i} sh_offset`);
      const size = r.u64(h + 32, `section ${i} sh_size`);
      return { type: r.u32(h + 4), off, size, link: r.u32(h + 40), h };
    };
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
      if (s.link >= shnum)
        throw new ElfError(name, s.h + 40, `section ${i} sh_link ${s.link} is out of range`);
      const str = section(s.link);
      r.need(s.off, s.size, `symbol table (section ${i})`);
      r.need(str.off, str.size, `string table (section ${s.link})`);
      tables.push({
        table: s.type === SHT_SYMTAB ? ".symtab" : ".dynsym",
        syms: bytes.subarray(s.off, s.off + s.size - (s.size % 24)),
        strs: bytes.subarray(str.off, str.off + str.size),
      });
    }
  }
  tables.sort((a, b) => (a.table === ".symtab" ? -1 : 0) - (b.table === ".symtab" ? -1 : 0));
  return { name, type, machine: r.u16(18), segments, lookup: (s) => lookupSymbol(tables, s) };
}

/** Defined symbols named `symbol` (byte compare against the string table: no decoding per entry). */
function lookupSymbol(
  tables: { table: string; syms: Uint8Array; strs: Uint8Array }[],
  symbol: string,
): NativeSymbol[] {
  const want = new TextEncoder().encode(symbol);
  const out: NativeSymbol[] = [];
  for (const t of tables) {
    const dv = new DataView(t.syms.buffer, t.syms.byteOffset, t.syms.byteLength);
    for (let off = 0; off + 24 <= t.syms.length; off += 24) {
      const nameOff = dv.getUint32(off, true);
      if (nameOff + want.length >= t.strs.length || t.strs[nameOff + want.length] !== 0) continue;
      let same = true;
      for (let i = 0; i < want.length; i++) {
        if (t.strs[nameOff + i] !== want[i]) {
          same = false;
          break;
        }
      }
      if (!same || dv.getUint16(off + 6, true) === SHN_UNDEF) continue;
      const info = dv.getUint8(off + 4);
      out.push({
        name: symbol,
        value: Number(dv.getBigUint64(off + 8, true)),
        size: Number(dv.getBigUint64(off + 16, true)),
        type: info & 0xf,
        bind: info >> 4,
        table: t.table,
      });
    }
  }
  return out;
}

/** True for the symbol kinds a uprobe can sit on: functions (and IFUNC resolvers, as libbpf allows). */
export function isFunctionSymbol(s: NativeSymbol): boolean {
  return s.type === STT_FUNC || s.type === STT_GNU_IFUNC;
}

/** The file offset of virtual address `vaddr`: inside the PT_LOAD segment that maps it. */
export function fileOffsetOf(elf: NativeElf, vaddr: number): number {
  for (const p of elf.segments) {
    if (p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + p.filesz)
      return vaddr - p.vaddr + p.offset;
  }
  throw new ElfError(elf.name, undefined, `address ${hex(vaddr)} is in no loadable segment`);
}
