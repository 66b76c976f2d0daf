// Test-only helpers for the llvm-objdump oracle: a tiny ELF64 reader (executable sections
// and their function symbols) and writer (wrap raw instruction bytes in a relocatable BPF
// object), plus a parser for `llvm-objdump -d` listings. Deliberately independent of
// src/elf so the disassembler tests do not depend on the ELF reader under test elsewhere.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cstr, type RawSection, sectionHeaders } from "../helpers/elf.ts";

const SHF_EXECINSTR = 0x4;
const SHT_SYMTAB = 2;
const EM_BPF = 247;

export interface ExecSection {
  name: string;
  bytes: Uint8Array;
  /** Named symbols defined in this section, by byte offset (llvm's label candidates). */
  symbols: { name: string; value: number }[];
}

/** Executable sections of a little-endian ELF64 object. */
export function execSections(file: Uint8Array): ExecSection[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headers = sectionHeaders(file);
  const out: (ExecSection & { index: number })[] = [];
  for (const s of headers.slice(1)) {
    if (!(s.flags & SHF_EXECINSTR) || s.size === 0) continue;
    out.push({ index: s.index, name: s.name, bytes: file.slice(s.offset, s.offset + s.size), symbols: [] });
  }
  for (const s of headers.slice(1)) {
    if (s.type !== SHT_SYMTAB) continue;
    const names = headers[s.link] as RawSection;
    for (let at = s.offset + s.entsize; at < s.offset + s.size; at += s.entsize) {
      const type = dv.getUint8(at + 4) & 0xf;
      const shndx = dv.getUint16(at + 6, true);
      const sec = out.find((x) => x.index === shndx);
      const name = cstr(file, names.offset + dv.getUint32(at, true));
      if (!sec || type === 3 /* STT_SECTION */ || name === "") continue;
      sec.symbols.push({ name, value: Number(dv.getBigUint64(at + 8, true)) });
    }
  }
  return out;
}

/** llvm-objdump's jump label: nearest preceding symbol in the section, `<sym+0xoff>`. */
export function labeller(sec: ExecSection): (slot: number) => string | undefined {
  const syms = [...sec.symbols].sort((a, b) => a.value - b.value);
  return (slot) => {
    // Targets before the section start wrap around like llvm's 64-bit addresses.
    const addr = slot * 8;
    let best: { name: string; value: number } | undefined;
    for (const s of syms) if (s.value <= addr) best = s;
    // With no symbol before the target, llvm-objdump labels it by the section name.
    if (!best) best = { name: sec.name, value: 0 };
    const delta = BigInt.asUintN(64, BigInt(addr - best.value));
    return delta === 0n ? best.name : `${best.name}+0x${delta.toString(16)}`;
  };
}

/** A relocatable ELF64 BPF object whose only content is `.text` = `code`. */
export function wrapElf(code: Uint8Array): Uint8Array {
  const shstr = new TextEncoder().encode("\0.text\0.shstrtab\0");
  const textOff = 64;
  const strOff = textOff + code.length;
  const shoff = (strOff + shstr.length + 7) & ~7;
  const out = new Uint8Array(shoff + 3 * 64);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(0x10, 1, true); // ET_REL
  dv.setUint16(0x12, EM_BPF, true);
  dv.setUint32(0x14, 1, true);
  dv.setBigUint64(0x28, BigInt(shoff), true);
  dv.setUint16(0x34, 64, true);
  dv.setUint16(0x3a, 64, true);
  dv.setUint16(0x3c, 3, true);
  dv.setUint16(0x3e, 2, true);
  out.set(code, textOff);
  out.set(shstr, strOff);
  const sec = (
    i: number,
    name: number,
    type: number,
    flags: number,
    off: number,
    size: number,
    align: number,
  ) => {
    const at = shoff + i * 64;
    dv.setUint32(at, name, true);
    dv.setUint32(at + 4, type, true);
    dv.setBigUint64(at + 8, BigInt(flags), true);
    dv.setBigUint64(at + 0x18, BigInt(off), true);
    dv.setBigUint64(at + 0x20, BigInt(size), true);
    dv.setBigUint64(at + 0x30, BigInt(align), true);
  };
  sec(1, 1, 1 /* PROGBITS */, 0x2 | SHF_EXECINSTR, textOff, code.length, 8);
  sec(2, 7, 3 /* STRTAB */, 0, strOff, shstr.length, 1);
  return out;
}

export interface ObjdumpLine {
  slot: number;
  text: string;
}

/** Runs llvm-objdump-19 -d on `file` and returns each section's instruction lines. */
export function objdump(file: Uint8Array, mcpu?: string): Map<string, ObjdumpLine[]> {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-asm-"));
  try {
    const path = join(dir, "x.o");
    writeFileSync(path, file);
    const args = ["-d", "--no-show-raw-insn", ...(mcpu ? [`--mcpu=${mcpu}`] : []), path];
    const r = spawnSync("llvm-objdump-19", args, { encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`llvm-objdump-19 failed: ${r.stderr}`);
    return parseObjdump(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses `Disassembly of section X:` blocks of `   12:\t<text>` lines; whitespace is normalised. */
export function parseObjdump(out: string): Map<string, ObjdumpLine[]> {
  const sections = new Map<string, ObjdumpLine[]>();
  let cur: ObjdumpLine[] | undefined;
  for (const line of out.split("\n")) {
    const sec = line.match(/^Disassembly of section (.*):$/);
    if (sec) {
      cur = [];
      sections.set(sec[1], cur);
      continue;
    }
    const m = line.match(/^\s*(\d+):\s+(.*)$/);
    if (m && cur) cur.push({ slot: Number(m[1]), text: norm(m[2]) });
  }
  return sections;
}

export function norm(s: string): string {
  return s.trim().replace(/\s+/g, " ");
}
