// Bounds-checked reads over an object file's bytes. Every read that could leave the
// file goes through `need()` first, which fails with an ElfError naming the field.

import type { ElfSection } from "./elf.ts";
import { ElfError, hex } from "./errors.ts";

/** Bounds-checked little-endian reads that fail with an ElfError naming the field. */
export class Reader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly name: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.bytes.length) {
      throw new ElfError(
        this.name,
        off,
        `truncated: ${what} at ${hex(off)} needs ${len} bytes but the file ends at ${hex(this.bytes.length)}`,
      );
    }
  }
  u8(off: number): number {
    return this.view.getUint8(off);
  }
  u16(off: number): number {
    return this.view.getUint16(off, true);
  }
  u32(off: number): number {
    return this.view.getUint32(off, true);
  }
  /** A u64 that must fit a JS number (any value a BPF object needs does). */
  u64(off: number, field: string): number {
    const v = this.view.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ElfError(
        this.name,
        off,
        `${field} at offset ${hex(off)} is ${hex(v)}, too large for a BPF object`,
      );
    }
    return Number(v);
  }
  /**
   * A u64 as a number, or -1 when it exceeds 2^53-1: for loops over thousands of
   * entries (relocations), which must not build an error message per entry; on -1 the
   * caller calls u64() for the error.
   */
  u64OrNeg(off: number): number {
    const hi = this.view.getUint32(off + 4, true);
    // 2^53-1 is hi 0x1fffff with every low bit set.
    return hi > 0x1fffff ? -1 : hi * 0x100000000 + this.view.getUint32(off, true);
  }
  i64(off: number): number {
    return Number(this.view.getBigInt64(off, true));
  }
}

/** Reads a NUL-terminated name from a string table section; checks the offset and terminator. */
export function readString(file: string, strtab: ElfSection, off: number, what: string): string {
  const d = strtab.data;
  if (off >= d.length) {
    throw new ElfError(
      file,
      strtab.offset,
      `${what}: string offset ${off} is outside string table '${strtab.name}' (${d.length} bytes)`,
    );
  }
  const end = d.indexOf(0, off);
  if (end < 0) {
    throw new ElfError(
      file,
      strtab.offset + off,
      `${what}: string at offset ${off} of '${strtab.name}' is not NUL-terminated`,
    );
  }
  return utf8.decode(d.subarray(off, end));
}

const utf8 = new TextDecoder("utf-8");
