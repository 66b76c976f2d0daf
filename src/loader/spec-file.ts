// loadCollectionSpec: the file-reading twin of readCollectionSpec (src/elf stays pure,
// bytes in and specs out; this module does the I/O), as cilium/ebpf's
// LoadCollectionSpec is for NewCollectionSpec's reader. Also where a BPF object named
// by a bare basename (`process.bpf.o`) is found: the package's own bpf/ directory.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readCollectionSpec } from "../elf/collection.ts";
import { TsbpfError } from "../errors.ts";
import type { CollectionSpec } from "../spec.ts";

/** A BPF object or asset that cannot be found or read. */
export class AssetError extends TsbpfError {}

/**
 * Prefix naming an object shipped with tsbpf, skipping the filesystem
 * (`embedded:process.bpf.o`): the package's bpf/ directory, or the single binary's
 * embedded copy.
 */
export const EMBEDDED_PREFIX = "embedded:";

/**
 * Where BPF objects named by a path or a bare basename come from. The default,
 * packageObjectFiles, reads the filesystem and the package's bpf/ directory; the
 * single binary (src/binary) passes one that also serves its embedded copies.
 */
export interface ObjectFiles {
  /**
   * The object's bytes and the name to show the user for it. Throws AssetError naming
   * what was looked for.
   */
  read(pathOrName: string): { bytes: Uint8Array; path: string };
  /**
   * The object already parsed into its spec, handed out once (loading edits a spec in
   * place), or undefined: then read() and parse as usual.
   */
  takeSpec?(pathOrName: string): CollectionSpec | undefined;
}

/**
 * The directory of the BPF objects shipped with the package: <repo>/bpf from the
 * sources, <package>/dist/bpf from dist/lib (scripts/build-lib.mjs copies them there).
 */
export function packageObjectDir(): string {
  return fileURLToPath(new URL("../../bpf/", import.meta.url));
}

/** Basenames of the objects in `dir` (e.g. "process.bpf.o"), sorted; [] without one. */
export function objectNamesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith(".bpf.o"))
      .sort();
  } catch {
    return [];
  }
}

/** Where the objects shipped with tsbpf come from, for objectFiles(). */
export interface ShippedObjects {
  /** Their basenames, sorted. */
  names(): string[];
  /** The bytes of one, by basename; AssetError when there is none. */
  read(name: string): Uint8Array;
  /** What to show the user for one (its file path, or `embedded:NAME`). */
  pathOf(name: string): string;
}

/** The shipped objects as files in `dir`. */
export function shippedIn(dir: () => string): ShippedObjects {
  const names = () => objectNamesIn(dir());
  return {
    names,
    read(name) {
      if (name.includes("/") || name === "" || name === "." || name === "..") {
        throw new AssetError(
          `invalid embedded asset name '${name}': expected a basename like 'process.bpf.o'`,
        );
      }
      const path = join(dir(), name);
      try {
        return readFileSync(path);
      } catch (e) {
        throw new AssetError(
          `no embedded asset named '${name}': cannot read ${path} (${describeShipped(names())})`,
          { cause: e },
        );
      }
    },
    pathOf: (name) => join(dir(), name),
  };
}

/** "embedded objects: a, b" for messages. */
export function describeShipped(names: readonly string[]): string {
  return names.length ? `embedded objects: ${names.join(", ")}` : "no BPF objects are embedded in this build";
}

/** Why a read failed, in words (errno code → phrase). */
function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT"
    ? "no such file"
    : code === "EISDIR"
      ? "it is a directory"
      : code === "EACCES"
        ? "permission denied"
        : (e as Error).message;
}

/**
 * ObjectFiles over `shipped`: `embedded:<name>` is the shipped object; otherwise the
 * filesystem wins, and a bare basename that is not a file falls back to the shipped
 * object of that name.
 */
export function objectFiles(shipped: ShippedObjects): ObjectFiles {
  const fromShipped = (name: string) => ({ bytes: shipped.read(name), path: shipped.pathOf(name) });
  return {
    read(pathOrName) {
      if (pathOrName.startsWith(EMBEDDED_PREFIX))
        return fromShipped(pathOrName.slice(EMBEDDED_PREFIX.length));
      try {
        return { bytes: readFileSync(pathOrName), path: pathOrName };
      } catch (e) {
        const bare = !pathOrName.includes("/");
        const names = bare ? shipped.names() : [];
        if ((e as NodeJS.ErrnoException).code === "ENOENT" && names.includes(pathOrName))
          return fromShipped(pathOrName);
        const hint = bare ? ` and no embedded object of that name (${describeShipped(names)})` : "";
        throw new AssetError(`cannot read BPF object '${pathOrName}': ${readFailure(e)}${hint}`, {
          cause: e,
        });
      }
    },
  };
}

/** The library's default: the filesystem, then the package's bpf/ directory. */
export const packageObjectFiles: ObjectFiles = objectFiles(shippedIn(packageObjectDir));

/**
 * Reads and parses a BPF object (an ELF file from `clang -target bpf`) into its
 * CollectionSpec: programs, maps, global data and BTF as plain data, with no syscall.
 * Edit the spec if needed (map sizes, for example), then hand it to loadCollection().
 * `src` is a file path (or the basename of an object shipped with the package) or the
 * object's bytes. Throws AssetError when the file cannot be read and ElfError /
 * BtfError, naming the place, when its contents are malformed.
 */
export function loadCollectionSpec(
  src: string | Uint8Array,
  files: ObjectFiles = packageObjectFiles,
): CollectionSpec {
  if (typeof src !== "string") return readCollectionSpec(src, "<bytes>");
  const pre = files.takeSpec?.(src);
  if (pre !== undefined) return pre;
  const { bytes, path } = files.read(src);
  return readCollectionSpec(bytes, path);
}
