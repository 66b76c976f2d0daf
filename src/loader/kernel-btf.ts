// The target BTF for CO-RE and externs: the running kernel's /sys/kernel/btf/vmlinux
// (plus module BTF in /sys/kernel/btf/<module>, split on top of vmlinux), or a file
// given with --btf: raw BTF (BTFHub style) or an ELF object whose .BTF section is the
// target. Parsed once per process and cached; Btf materialises types lazily.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { Btf } from "../btf/btf.ts";
import { KernelBtfError } from "../core/errors.ts";
import { findSection, parseElf } from "../elf/elf.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const SYSFS_BTF = "/sys/kernel/btf";

let overridePath: string | undefined;
let cached: Btf | undefined;
let modules: { name: string; btf: Btf }[] | undefined;

/** Sets (or clears, with undefined) the --btf FILE override; drops the cached BTF. */
export function setTargetBtfPath(path: string | undefined): void {
  overridePath = path;
  cached = undefined;
  modules = undefined;
}

/** The --btf override in effect, if any. */
export function targetBtfPath(): string | undefined {
  return overridePath;
}

function readOrFail(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (what === "kernel" && code === "ENOENT") {
      throw new KernelBtfError(
        `kernel BTF not found at ${VMLINUX}: this kernel was built without CONFIG_DEBUG_INFO_BTF; pass --btf FILE`,
      );
    }
    throw new KernelBtfError(`cannot read BTF file ${path}: ${readFailure(code, e)}`);
  }
}

function readFailure(code: string | undefined, e: unknown): string {
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "it is a directory, expected a file";
  return code ?? String(e);
}

/**
 * Fails now when a --btf FILE cannot be a file at all (missing, a directory), even if
 * the object has no CO-RE and the target BTF would never be read: a mistyped path
 * should not pass silently.
 */
export function checkTargetBtfPath(path: string): void {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KernelBtfError(`cannot read BTF file ${path}: ${readFailure(code, e)}`);
  }
  if (dir) throw new KernelBtfError(`cannot read BTF file ${path}: ${readFailure("EISDIR", undefined)}`);
}

/** Raw BTF (magic 0xeb9f little-endian) or an ELF object whose `.BTF` section is used. */
export function parseTargetBtfFile(bytes: Uint8Array, path: string): Btf {
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) return Btf.parse(bytes, { name: path });
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const elf = parseElf(bytes, path);
    const sec = findSection(elf, ".BTF");
    if (!sec) throw new KernelBtfError(`--btf ${path}: ELF file has no .BTF section to use as target BTF`);
    return Btf.parse(sec.data, { name: `${path} (.BTF)` });
  }
  throw new KernelBtfError(
    `--btf ${path}: neither raw BTF (magic 0xeb9f) nor an ELF object with a .BTF section`,
  );
}

/** The target BTF: the --btf override if set, else the running kernel's vmlinux BTF. */
export function kernelBtf(): Btf {
  if (cached) return cached;
  if (overridePath !== undefined) {
    cached = parseTargetBtfFile(readOrFail(overridePath, "override"), overridePath);
  } else {
    cached = Btf.parse(readOrFail(VMLINUX, "kernel"), { name: VMLINUX });
  }
  return cached;
}

/**
 * Forgets the parsed target and module BTF (vmlinux: a 5.5 MB buffer plus its offset
 * tables and candidate index). A long-running process calls this once loading is
 * done; the next kernelBtf() reads the file again.
 */
export function releaseKernelBtf(): void {
  cached = undefined;
  modules = undefined;
}

/** The target BTF if it was already read (no I/O), for identity checks. */
export function cachedKernelBtf(): Btf | undefined {
  return cached;
}

/**
 * Module BTF (/sys/kernel/btf/<module>, split BTF whose ids continue vmlinux's). Not
 * used with a --btf override: a BTFHub file describes vmlinux only.
 */
export function kernelModuleBtfs(): { name: string; btf: Btf }[] {
  if (modules) return modules;
  const out: { name: string; btf: Btf }[] = [];
  if (overridePath === undefined) {
    let names: string[] = [];
    try {
      names = readdirSync(SYSFS_BTF)
        .filter((n) => n !== "vmlinux")
        .sort();
    } catch {
      names = [];
    }
    const base = names.length ? kernelBtf() : undefined;
    for (const name of names) {
      try {
        const bytes = new Uint8Array(readFileSync(`${SYSFS_BTF}/${name}`));
        out.push({ name, btf: Btf.parse(bytes, { base, name: `${SYSFS_BTF}/${name}` }) });
      } catch {
        // An unreadable module BTF only narrows the candidate set, as in libbpf.
      }
    }
  }
  modules = out;
  return out;
}
