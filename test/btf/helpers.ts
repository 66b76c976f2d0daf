// Helpers shared by the BTF tests: a minimal ELF64 section reader (so these tests do
// not depend on src/elf), scratch compilation of C fixtures, and bpftool's dump.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT_DIR } from "../helpers/env.ts";

export { elfSection } from "../helpers/elf.ts";

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

/**
 * A hand-made raw BTF blob for parser tests: a struct btf_header (include/uapi/linux/
 * btf.h: magic 0xeb9f, version 1, hdr_len 24, type_off 0) with room for `typeLen` bytes
 * of type records and `strLen` bytes of strings (zeroed: the strings start with NUL).
 */
export function btfBlob(typeLen: number, strLen: number, extra = 0): { b: Uint8Array; dv: DataView } {
  const b = new Uint8Array(24 + typeLen + strLen + extra);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 0xeb9f, true);
  b[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, strLen, true);
  return { b, dv };
}
