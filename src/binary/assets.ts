// Files shipped inside the single binary (dist/tsbpf): every bpf/*.bpf.o and koffi's
// native addon. In the binary they come from Node's SEA asset store (node:sea,
// Node >= 20.12); elsewhere (tsx, bin/tsbpf.js, the plain bundle) the same names
// resolve to the package's bpf/ directory, as the library's packageObjectFiles does,
// so both modes behave alike.
//
// Users name an embedded object either by its bare basename (`tsbpf inspect
// process.bpf.o` uses ./process.bpf.o when it exists, the embedded copy otherwise) or
// explicitly with the `embedded:` prefix (`tsbpf inspect embedded:process.bpf.o`).
import { join } from "node:path";
import {
  AssetError,
  describeShipped,
  EMBEDDED_PREFIX,
  type ObjectFiles,
  objectFiles,
  objectNamesIn,
  packageObjectDir,
  shippedIn,
} from "../loader/spec-file.ts";
import type { CollectionSpec } from "../spec.ts";

export { AssetError, EMBEDDED_PREFIX };

// Set by scripts/build-sea.mjs through esbuild `define`; absent (typeof "undefined")
// when the sources run under tsx. In the CommonJS bundle import.meta is empty, so
// packageObjectDir() (which reads it) must never run there.
declare const __TSBPF_SEA_BUILD__: boolean | undefined;
declare const __TSBPF_BPF_ASSETS__: readonly string[] | undefined;
const SEA_BUILD = typeof __TSBPF_SEA_BUILD__ !== "undefined" && __TSBPF_SEA_BUILD__ === true;

/** SEA asset key of koffi's native addon (scripts/build-sea.mjs uses the same key). */
export const KOFFI_ADDON_ASSET = "koffi.node";

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

let seaModule: SeaModule | null | undefined;
function sea(): SeaModule | null {
  if (seaModule === undefined) {
    // `require` exists only in the CommonJS bundle; node:sea only inside a SEA.
    seaModule = SEA_BUILD ? (require("node:sea") as SeaModule) : null;
    if (seaModule && !seaModule.isSea()) seaModule = null;
  }
  return seaModule;
}

/** True when running as the single executable (dist/tsbpf). */
export function isSea(): boolean {
  return sea() !== null;
}

/** Directory holding the BPF objects outside the binary: <repo>/bpf (or dist/bpf). */
function devBpfDir(): string {
  // The bundle run by plain node (dist/tsbpf.cjs) sits in <repo>/dist.
  if (SEA_BUILD) return join(__dirname, "..", "bpf");
  return packageObjectDir();
}

/** The objects next to the sources or the bundle (objects in files, not in the blob). */
const onDisk = shippedIn(devBpfDir);

/** Basenames of the embedded BPF objects (e.g. "process.bpf.o"), sorted. */
export function assetNames(): string[] {
  if (sea() && typeof __TSBPF_BPF_ASSETS__ !== "undefined") return [...__TSBPF_BPF_ASSETS__];
  return objectNamesIn(devBpfDir());
}

/**
 * Bytes of one embedded asset: a BPF object by basename, or KOFFI_ADDON_ASSET.
 * Throws AssetError naming the available objects when there is no such asset.
 */
export function readAsset(name: string): Uint8Array {
  const s = sea();
  if (!s) return onDisk.read(name);
  try {
    return new Uint8Array(s.getAsset(name));
  } catch (e) {
    throw new AssetError(`no embedded asset named '${name}' (${describeShipped(assetNames())})`, {
      cause: e,
    });
  }
}

/**
 * Reads a BPF object named on the command line. The filesystem wins; a bare basename
 * that is not a file falls back to the embedded object of that name, and
 * `embedded:<name>` always means the embedded one. `path` is what to show the user:
 * the file path, or `embedded:<name>`.
 */
export const readObjectFile = objectFiles({
  names: assetNames,
  read: readAsset,
  pathOf: (name) => (sea() ? `${EMBEDDED_PREFIX}${name}` : join(devBpfDir(), name)),
}).read;

// Embedded objects already parsed into their CollectionSpec: filled only while the
// single binary's V8 start-up snapshot is built (scripts/build-sea.mjs parses each
// embedded object there), so a start of the binary finds the spec in its heap instead
// of parsing the ELF again.
const preparsed = new Map<string, CollectionSpec>();

/** Records the parsed spec of embedded object `name` (snapshot build only). */
export function setPreparsedSpec(name: string, spec: CollectionSpec): void {
  preparsed.set(name, spec);
}

/**
 * The pre-parsed spec of `embedded:<name>`, handed out once (loading edits a spec in
 * place: map overrides, .rodata contents), or undefined: then read and parse as usual.
 * Only explicit `embedded:` names qualify, since a bare name may be a file on disk.
 */
export function takePreparsedSpec(pathOrName: string): CollectionSpec | undefined {
  if (preparsed.size === 0 || !pathOrName.startsWith(EMBEDDED_PREFIX) || !isSea()) return undefined;
  const name = pathOrName.slice(EMBEDDED_PREFIX.length);
  const spec = preparsed.get(name);
  preparsed.delete(name);
  return spec;
}

/** The CLI's object files: the filesystem, then the embedded objects (readObjectFile). */
export const embeddedObjectFiles: ObjectFiles = { read: readObjectFile, takeSpec: takePreparsedSpec };
