// The target BTF for CO-RE and externs: the running kernel's /sys/kernel/btf/vmlinux
// (plus module BTF in /sys/kernel/btf/<module>, split on top of vmlinux), or a file
// given with --btf: raw BTF (BTFHub style) or an ELF object whose .BTF section is the
// target. Parsed once per process and cached; Btf materialises types lazily.

import { closeSync, fstatSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { Btf } from "../btf/btf.ts";
import { KernelBtfError } from "../core/errors.ts";
import { findSection, parseElf } from "../elf/elf.ts";
import { BINARY_MAX_BYTES, InputFileError, readInputFile } from "../input-file.ts";
import { MAP_PRIVATE, mmap, PROT_READ, view } from "../sys/mm.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const SYSFS_BTF = "/sys/kernel/btf";

let overridePath: string | undefined;
let cached: Btf | undefined;
let modules: { name: string; btf: Btf }[] | undefined;
/** The read-only mapping of vmlinux BTF, made once per process (see mapVmlinux). */
let mapped: Uint8Array | undefined;

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
    // A Buffer is a Uint8Array already: `new Uint8Array(buf)` would copy 5.5 MB (~3 ms).
    // A user's --btf FILE is checked first (a regular file, size cap): not /dev/zero.
    const buf =
      what === "kernel"
        ? readFileSync(path)
        : readInputFile(path, { what: "BTF file", maxBytes: BINARY_MAX_BYTES });
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof InputFileError)
      throw new KernelBtfError(
        `cannot read BTF file ${path}: ${e.reason.replace(/^cannot read the file: /, "")}`,
      );
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

/**
 * /sys/kernel/btf/vmlinux mapped read-only (MAP_PRIVATE, PROT_READ: Linux 6.16 and later
 * allow this, and refuse write or shared mappings), or undefined when the kernel cannot
 * map it. Reading the file instead costs ~9 ms here: sysfs returns one page per read(2)
 * (1,348 calls) into a fresh 5.5 MB buffer whose every page faults in; the mapping
 * hands over the kernel's own pages in ~0.1 ms. It is never unmapped: Btf objects,
 * candidates and caches may outlive releaseKernelBtf(), and touching an unmapped view
 * kills the process. A second kernelBtf() reuses it, so it costs address space only.
 * Nothing writes into target BTF bytes (only the object's own BTF is patched, in a
 * private copy: elf/datasec.ts), and a write here would be a SIGSEGV, not an exception.
 */
function mapVmlinux(): Uint8Array | undefined {
  if (mapped) return mapped;
  let fd: number;
  try {
    fd = openSync(VMLINUX, "r");
  } catch {
    return undefined; // readOrFail reports the reason
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= 0) return undefined;
    mapped = new Uint8Array(view(mmap(size, PROT_READ, MAP_PRIVATE, fd, 0, VMLINUX), size));
    return mapped;
  } catch {
    return undefined; // older kernels: EINVAL/ENODEV, read the file instead
  } finally {
    closeSync(fd);
  }
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
    cached = Btf.parse(mapVmlinux() ?? readOrFail(VMLINUX, "kernel"), { name: VMLINUX });
  }
  return cached;
}

/**
 * Forgets the parsed target and module BTF (vmlinux: its offset tables and candidate
 * index, and the 5.5 MB buffer when it was read rather than mapped). A long-running
 * process calls this once loading is done; the next kernelBtf() parses again.
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
        const buf = readFileSync(`${SYSFS_BTF}/${name}`);
        const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        out.push({ name, btf: Btf.parse(bytes, { base, name: `${SYSFS_BTF}/${name}` }) });
      } catch {
        // An unreadable module BTF only narrows the candidate set, as in libbpf.
      }
    }
  }
  modules = out;
  return out;
}
