// A CO-RE target given as a file instead of the running kernel's BTF: raw BTF (BTFHub
// style) or an ELF object whose .BTF section is the target. Read once by the caller and
// passed to the loader as a value (LoadOptions.targetBtf).
import { statSync } from "node:fs";
import { Btf } from "../btf/btf.ts";
import { KernelBtfError } from "../btf/errors.ts";
import { BtfCache, readFailure } from "../btf/kernel.ts";
import { coreTargets, type TargetBtfs } from "../core/candidates.ts";
import { findSection, parseElf } from "../elf/elf.ts";
import { BINARY_MAX_BYTES, InputFileError, readInputFile } from "../input-file.ts";

/**
 * Fails now when a target BTF path cannot be a file at all (missing, a directory), even
 * if the object has no CO-RE and the target would never be read: a mistyped path should
 * not pass silently.
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
    if (!sec)
      throw new KernelBtfError(`target BTF ${path}: ELF file has no .BTF section to use as target BTF`);
    return Btf.parse(sec.data, { name: `${path} (.BTF)` });
  }
  throw new KernelBtfError(
    `target BTF ${path}: neither raw BTF (magic 0xeb9f) nor an ELF object with a .BTF section`,
  );
}

/** Reads and parses a target BTF file (see parseTargetBtfFile); KernelBtfError when it cannot. */
export function readTargetBtf(path: string): Btf {
  checkTargetBtfPath(path);
  let bytes: Uint8Array;
  try {
    // A user's file is checked first (a regular file, a size cap): not /dev/zero.
    const buf = readInputFile(path, { what: "BTF file", maxBytes: BINARY_MAX_BYTES });
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof InputFileError)
      throw new KernelBtfError(
        `cannot read BTF file ${path}: ${e.reason.replace(/^cannot read the file: /, "")}`,
      );
    const code = (e as NodeJS.ErrnoException).code;
    throw new KernelBtfError(`cannot read BTF file ${path}: ${readFailure(code, e)}`);
  }
  return parseTargetBtfFile(bytes, path);
}

export interface TargetOptions {
  /** The target instead of the running kernel's BTF. */
  targetBtf?: Btf;
  /** Path convenience for targetBtf. */
  btf?: string;
  /** Searched after the target (and after module BTF when the target is the kernel's). */
  extraTargets?: Btf[];
  btfCache?: BtfCache;
}

/** What one load relocates against; the kernel's BTF is read only when first asked for. */
export interface TargetChoice {
  btfCache: BtfCache;
  /** The target given as a value (undefined: the running kernel's). */
  given: Btf | undefined;
  extra: Btf[];
  /** The target and what is searched after it, for CO-RE. */
  targets(): TargetBtfs;
  /** The target alone (kconfig lookups). */
  target(): Btf;
  /**
   * The running kernel's BTF, whatever the target: BTF ids handed to the kernel (typed
   * ksyms, attach_btf_id) must be its own, a target override is only for CO-RE.
   */
  kernel(): Btf;
  /** The running kernel's module BTF, searched for ksyms vmlinux lacks. */
  ksymModules(): { name: string; btf: Btf }[];
}

/** Reads a target BTF path now (a bad path fails before anything is created). */
export function chooseTargets(opts: TargetOptions): TargetChoice {
  const btfCache = opts.btfCache ?? new BtfCache();
  const given = opts.targetBtf ?? (opts.btf !== undefined ? readTargetBtf(opts.btf) : undefined);
  const extraTargets = opts.extraTargets ?? [];
  const extra = extraTargets.map((btf) => ({ name: btf.name, btf }));
  let targets: TargetBtfs | undefined;
  return {
    btfCache,
    given,
    extra: extraTargets,
    targets: () => {
      targets ??= given
        ? coreTargets(given, extra)
        : coreTargets(btfCache.kernel(), [...btfCache.modules(), ...extra]);
      return targets;
    },
    target: () => given ?? btfCache.kernel(),
    kernel: () => btfCache.kernel(),
    ksymModules: () => btfCache.modules(),
  };
}
