// Helpers shared by the BTF tests: a minimal ELF64 section reader (so these tests do
// not depend on src/elf), scratch compilation of C fixtures, and bpftool's dump.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT_DIR } from "../helpers/env.ts";

/** The bytes of the named section of a little-endian ELF64 file, or undefined. */
export function elfSection(file: Uint8Array, name: string): Uint8Array | undefined {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  const sh = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: dv.getUint32(o, true),
      offset: Number(dv.getBigUint64(o + 24, true)),
      size: Number(dv.getBigUint64(o + 32, true)),
    };
  };
  const strtab = sh(shstrndx);
  const dec = new TextDecoder();
  for (let i = 1; i < shnum; i++) {
    const s = sh(i);
    const start = strtab.offset + s.name;
    const end = file.indexOf(0, start);
    if (dec.decode(file.subarray(start, end)) === name) return file.subarray(s.offset, s.offset + s.size);
  }
  return undefined;
}

/** Committed BPF objects (bpf/*.bpf.o and test/fixtures/*.bpf.o), by git. */
export function committedObjects(): string[] {
  const r = spawnSync("git", ["ls-files", "bpf/*.bpf.o", "test/fixtures/*.bpf.o"], {
    cwd: ROOT_DIR,
    encoding: "utf8",
  });
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((f) => join(ROOT_DIR, f))
    .filter((f) => existsSync(f));
}

let scratch: string | undefined;
/** Compiles a C fixture from test/btf/fixtures with clang-19 into a temp dir; returns the .o path. */
export function compileFixture(name: string): string {
  scratch ??= mkdtempSync(join(tmpdir(), "tsbpf-btf-"));
  const src = join(ROOT_DIR, "test/btf/fixtures", name);
  const out = join(scratch, name.replace(/\.c$/, ".o"));
  execFileSync("clang-19", [
    "-target",
    "bpf",
    "-O2",
    "-g",
    "-I/usr/include/x86_64-linux-gnu",
    "-c",
    src,
    "-o",
    out,
  ]);
  return out;
}

export function fixtureSources(): string[] {
  return readdirSync(join(ROOT_DIR, "test/btf/fixtures")).filter((f) => f.endsWith(".bpf.c"));
}

export function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), "tsbpf-btf-"));
  return scratch;
}

/** `bpftool [-B BASE] btf dump file FILE` (raw format); bpftool 7.1 takes the base as -B. */
export function bpftoolDump(file: string, base?: string): string {
  const args = base ? ["-B", base] : [];
  args.push("btf", "dump", "file", file);
  return execFileSync("bpftool", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/** Whitespace-only normalisation for text comparisons. */
export function normWs(s: string): string[] {
  return s
    .split("\n")
    .map((l) => l.trim().replace(/\s+/g, " "))
    .filter((l) => l !== "");
}
