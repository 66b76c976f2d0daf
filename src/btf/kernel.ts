// Target BTF for CO-RE and externs. BtfCache owns the running kernel's BTF: vmlinux
// (/sys/kernel/btf/vmlinux) and module BTF (/sys/kernel/btf/<module>, split on top of
// vmlinux), each parsed once per cache; whoever needs them holds the cache and drops it
// when done. A target given as a file instead (BTFHub) is read by
// src/loader/target-btf.ts: a plain value, passed to the loader as LoadOptions.targetBtf.
import { closeSync, fstatSync, openSync, readdirSync, readFileSync } from "node:fs";
import { MAP_PRIVATE, mmap, munmap, PROT_READ, view } from "../sys/mm.ts";
import { Btf } from "./btf.ts";
import { KernelBtfError } from "./errors.ts";

export const VMLINUX = "/sys/kernel/btf/vmlinux";
const SYSFS_BTF = "/sys/kernel/btf";

export interface NamedBtf {
  name: string;
  btf: Btf;
}

/**
 * Unmaps a vmlinux mapping once nothing can reach it any more: every Btf and view over
 * it shares the one ArrayBuffer, so touching an unmapped page (a SIGSEGV, not an
 * exception) cannot happen from JavaScript. Owned by no module state: the registry is
 * the mapping's, created with it.
 */
function unmapWhenUnreachable(buf: ArrayBuffer, addr: bigint, len: number): void {
  new FinalizationRegistry<[bigint, number]>(([a, n]) => {
    try {
      munmap(a, n);
    } catch {
      // Nothing to report to: the address space is only lost.
    }
  }).register(buf, [addr, len]);
}

/**
 * /sys/kernel/btf/vmlinux mapped read-only (MAP_PRIVATE, PROT_READ: Linux 6.16 and later
 * allow this, and refuse write or shared mappings), or undefined when the kernel cannot
 * map it. The mapping hands over the kernel's own pages where reading the file copies
 * them one page per read(2) (bench/README.md, "vmlinux BTF"). Nothing writes into target
 * BTF bytes (only the object's own BTF is patched, in a private copy: elf/datasec.ts).
 */
function mapVmlinux(path: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined; // readOrFail reports the reason
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= 0) return undefined;
    const addr = mmap(size, PROT_READ, MAP_PRIVATE, fd, 0, path);
    const buf = view(addr, size);
    unmapWhenUnreachable(buf, addr, size);
    return new Uint8Array(buf);
  } catch {
    return undefined; // older kernels: EINVAL/ENODEV, read the file instead
  } finally {
    closeSync(fd);
  }
}

export function readFailure(code: string | undefined, e: unknown): string {
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "it is a directory, expected a file";
  return code ?? String(e);
}

function readFile(path: string): Uint8Array {
  // A Buffer is a Uint8Array already: `new Uint8Array(buf)` would copy it.
  const buf = readFileSync(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface BtfCacheOptions {
  /** Directory of the kernel's BTF files (default /sys/kernel/btf). */
  dir?: string;
}

/**
 * The running kernel's BTF, parsed on first use and kept until clear() or until the
 * cache is dropped (cilium/ebpf's btf.Cache plays the same part). One cache serves any
 * number of loads; a loader given none makes its own for the load.
 */
export class BtfCache {
  readonly dir: string;
  #vmlinux: Btf | undefined;
  #modules: NamedBtf[] | undefined;

  constructor(opts: BtfCacheOptions = {}) {
    this.dir = opts.dir ?? SYSFS_BTF;
  }

  /** The running kernel's vmlinux BTF. Throws KernelBtfError when the kernel has none. */
  kernel(): Btf {
    if (this.#vmlinux) return this.#vmlinux;
    const path = `${this.dir}/vmlinux`;
    let bytes = mapVmlinux(path);
    if (!bytes) {
      try {
        bytes = readFile(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT")
          throw new KernelBtfError(
            `kernel BTF not found at ${path}: this kernel was built without CONFIG_DEBUG_INFO_BTF; give a target BTF file (BTFHub) instead`,
          );
        throw new KernelBtfError(`cannot read kernel BTF ${path}: ${readFailure(code, e)}`);
      }
    }
    this.#vmlinux = Btf.parse(bytes, { name: path });
    return this.#vmlinux;
  }

  /** The vmlinux BTF if this cache parsed it already (no I/O). */
  parsedKernel(): Btf | undefined {
    return this.#vmlinux;
  }

  /**
   * Module BTF (split BTF whose ids continue vmlinux's), sorted by module name. An
   * unreadable module only narrows the candidate set, as in libbpf.
   */
  modules(): NamedBtf[] {
    if (this.#modules) return this.#modules;
    let names: string[] = [];
    try {
      names = readdirSync(this.dir)
        .filter((n) => n !== "vmlinux")
        .sort();
    } catch {
      names = [];
    }
    const out: NamedBtf[] = [];
    const base = names.length ? this.kernel() : undefined;
    for (const name of names) {
      try {
        out.push({
          name,
          btf: Btf.parse(readFile(`${this.dir}/${name}`), { base, name: `${this.dir}/${name}` }),
        });
      } catch {
        // see above
      }
    }
    this.#modules = out;
    return out;
  }

  /**
   * Forgets what was parsed (vmlinux's offset tables and candidate index, module BTF);
   * the next call parses again. A long-running process calls it once loading is done.
   */
  clear(): void {
    this.#vmlinux = undefined;
    this.#modules = undefined;
  }
}
