// A minimal little-endian ELF64 section-header reader for tests that must not depend on
// src/elf (the reader under test elsewhere): the disassembler and BTF oracles use it to
// pull sections out of clang's objects. Field offsets follow the ELF64 Shdr layout.
const decoder = new TextDecoder();

export interface RawSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** NUL-terminated string at `at`. */
export function cstr(b: Uint8Array, at: number): string {
  let end = at;
  while (end < b.length && b[end] !== 0) end++;
  return decoder.decode(b.subarray(at, end));
}

/** Every section header (index 0, the null section, included), with its name resolved. */
export function sectionHeaders(file: Uint8Array): RawSection[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  const raw = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      index: i,
      nameOff: dv.getUint32(at, true),
      type: dv.getUint32(at + 4, true),
      flags: Number(dv.getBigUint64(at + 8, true)),
      offset: Number(dv.getBigUint64(at + 0x18, true)),
      size: Number(dv.getBigUint64(at + 0x20, true)),
      link: dv.getUint32(at + 0x28, true),
      entsize: Number(dv.getBigUint64(at + 0x38, true)),
    };
  };
  const strtab = raw(shstrndx);
  const out: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const { nameOff, ...s } = raw(i);
    out.push({ ...s, name: cstr(file, strtab.offset + nameOff) });
  }
  return out;
}

/** The bytes of the named section, or undefined. */
export function elfSection(file: Uint8Array, name: string): Uint8Array | undefined {
  const s = sectionHeaders(file).find((h) => h.index > 0 && h.name === name);
  return s && file.subarray(s.offset, s.offset + s.size);
}
