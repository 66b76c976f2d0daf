// Bad input: truncated, corrupted and non-BPF files end in an ElfError that names
// the file and the offset; the CLI prints one line and exits 1.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { parseElf } from "../../src/elf/elf.ts";
import { ElfError } from "../../src/elf/errors.ts";
import { TsbpfError } from "../../src/errors.ts";
import { assertOneLineError, runCli } from "../helpers/cli.ts";
import { committedObjects } from "./objects.ts";

const good = new Uint8Array(readFileSync(committedObjects()[0] as string));

function elfError(bytes: Uint8Array, name = "x.o"): ElfError {
  try {
    parseElf(bytes, name);
  } catch (e) {
    assert.instance(e, ElfError);
    return e as ElfError;
  }
  throw new Error("expected an ElfError");
}

test("wrong class: a 32-bit ELF header names EI_CLASS at 0x4", () => {
  const b = good.slice();
  b[4] = 1;
  const e = elfError(b);
  assert.is(e.message, "x.o: not ELF64: EI_CLASS at offset 0x4 is 1 (ELFCLASS32), expected 2 (ELFCLASS64)");
  assert.is(e.offset, 4);
});

test("wrong endianness names EI_DATA at 0x5", () => {
  const b = good.slice();
  b[5] = 2;
  const e = elfError(b);
  assert.match(e.message, /^x\.o: not little-endian: EI_DATA at offset 0x5 is 2 \(ELFDATA2MSB, big-endian\)/);
});

test("wrong machine: /bin/true is x86-64", () => {
  const b = new Uint8Array(readFileSync("/bin/true"));
  const e = elfError(b, "/bin/true");
  assert.is(
    e.message,
    "/bin/true: not a BPF object: e_machine at offset 0x12 is 62 (x86-64), expected 247 (EM_BPF)",
  );
});

test("not ELF at all", () => {
  const e = elfError(
    new TextEncoder().encode("hello world, this is not an object file at all, no no no no no no no"),
  );
  assert.match(e.message, /not an ELF file: bad magic at offset 0x0/);
  // Shorter than an ELF header: still "not an ELF file", not "truncated".
  const short = elfError(new TextEncoder().encode("hello\n"));
  assert.match(short.message, /^x\.o: not an ELF file: bad magic at offset 0x0/);
  assert.match(elfError(new Uint8Array(0)).message, /^x\.o: empty file, expected an ELF BPF object/);
});

test("truncated files name what is missing and where the file ends", () => {
  const e1 = elfError(good.subarray(0, 20));
  assert.match(e1.message, /^x\.o: truncated: ELF header at 0x0 needs 64 bytes but the file ends at 0x14$/);
  const shoff = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(40, true));
  const e2 = elfError(good.subarray(0, shoff + 100));
  assert.match(
    e2.message,
    /truncated: section header table at 0x[0-9a-f]+ needs \d+ bytes but the file ends at 0x[0-9a-f]+/,
  );
  // Cut inside the section data (before the headers): a section's [offset,size) leaves the file.
  const b = good.slice();
  const dv = new DataView(b.buffer);
  const sh2 = shoff + 2 * 64;
  dv.setBigUint64(sh2 + 32, BigInt(b.length), true);
  assert.match(elfError(b).message, /truncated: section 2 at 0x[0-9a-f]+ needs \d+ bytes/);
});

test("corrupted header fields: e_shentsize, e_shstrndx, sh_link, string offsets", () => {
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset);
  const shoff = Number(dv(good).getBigUint64(40, true));
  let b = good.slice();
  dv(b).setUint16(58, 40, true);
  assert.match(elfError(b).message, /e_shentsize at offset 0x3a is 40, expected 64/);
  b = good.slice();
  dv(b).setUint16(62, 999, true);
  assert.match(elfError(b).message, /e_shstrndx at offset 0x3e is 999/);
  b = good.slice();
  dv(b).setUint32(shoff + 64 + 0, 0xfffffff, true);
  assert.match(elfError(b).message, /section 1 sh_name: string offset \d+ is outside string table/);
  // Find the symtab and break its sh_link.
  const shnum = dv(good).getUint16(60, true);
  for (let i = 0; i < shnum; i++) {
    if (dv(good).getUint32(shoff + i * 64 + 4, true) === 2) {
      b = good.slice();
      dv(b).setUint32(shoff + i * 64 + 40, 5000, true);
      assert.match(elfError(b).message, new RegExp(`section ${i} sh_link at 0x[0-9a-f]+ is 5000`));
    }
  }
});

test("extended numbering (e_shnum 0, e_shstrndx SHN_XINDEX) reads the counts from section 0", () => {
  const b = good.slice();
  const dv = new DataView(b.buffer);
  const shoff = Number(dv.getBigUint64(40, true));
  const shnum = dv.getUint16(60, true);
  const shstrndx = dv.getUint16(62, true);
  dv.setUint16(60, 0, true);
  dv.setBigUint64(shoff + 32, BigInt(shnum), true);
  dv.setUint16(62, 0xffff, true);
  dv.setUint32(shoff + 40, shstrndx, true);
  const want = parseElf(good, "x.o");
  const got = parseElf(b, "x.o");
  assert.is(got.sections.length, shnum);
  assert.equal(
    got.sections.slice(1).map((s) => s.name),
    want.sections.slice(1).map((s) => s.name),
  );
  assert.equal(got.symbols, want.symbols);
});

test("ET_EXEC and e_version problems are refused", () => {
  const b = good.slice();
  new DataView(b.buffer).setUint16(16, 2, true);
  assert.match(elfError(b).message, /e_type at offset 0x10 is 2 \(ET_EXEC\), expected 1 \(ET_REL/);
});

test("readCollectionSpec raises typed errors only (TsbpfError)", () => {
  try {
    readCollectionSpec(good.subarray(0, 100), "cut.o");
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TsbpfError);
    assert.match((e as Error).message, /^cut\.o: /);
  }
});

test("CLI: tsbpf inspect on bad files exits 1 with one line on stderr and no stack", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-elf-"));
  try {
    const b32 = good.slice();
    b32[4] = 1;
    writeFileSync(join(dir, "class32.o"), b32);
    writeFileSync(join(dir, "cut.o"), good.subarray(0, 300));
    const cases: [string, RegExp][] = [
      [join(dir, "class32.o"), /EI_CLASS at offset 0x4 is 1/],
      [join(dir, "cut.o"), /truncated/],
      ["/bin/true", /e_machine at offset 0x12 is 62/],
      [join(dir, "missing.o"), /missing\.o/],
    ];
    for (const [file, want] of cases) {
      assertOneLineError(runCli(["inspect", file]), 1, want, file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
