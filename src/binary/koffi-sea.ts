// koffi inside the single binary. A SEA's require() loads only built-in modules, so
// koffi's native addon travels as a SEA asset (src/assets.ts) and is loaded here:
// written to an anonymous file and handed to process.dlopen through /proc/self/fd/N.
//
// scripts/build-sea.mjs bundles this module in place of src/sys/koffi.ts (same
// getKoffi() API), resolves the require("koffi") below to koffi's CommonJS entry (its ESM entry needs
// import.meta.url, which a CommonJS bundle lacks), and replaces koffi's
// require("@koromix/koffi-<os>-<arch>") with a stub returning ADDON_SLOT. This file
// is never imported when running from source.
import { closeSync, constants, openSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type koffiType from "koffi";
import { TsbpfError } from "../errors.ts";
import { KOFFI_ADDON_ASSET, readAsset } from "./assets.ts";

/** No location could load the embedded koffi addon. */
export class KoffiLoadError extends TsbpfError {}

// include/uapi/asm-generic/fcntl.h: O_TMPFILE = __O_TMPFILE (020000000) | O_DIRECTORY
// (0200000). open(dir, O_TMPFILE | O_RDWR) creates an unnamed inode in dir's
// filesystem that vanishes with its last reference: nothing to clean up on a crash.
const O_TMPFILE = 0o20000000 | 0o200000;

/** Where the build's stub for koffi's platform package finds the loaded addon. */
const ADDON_SLOT = Symbol.for("tsbpf.koffi-sea.addon");

/** Where src/sys/epoll-worker.ts finds the loaded addon's path (/proc/self/fd/N). */
const ADDON_PATH_SLOT = Symbol.for("tsbpf.koffi-sea.addon-path");

/** Directory the addon was finally loaded from (for the TSBPF_SELFTEST=koffi hook). */
export let addonLoadedFrom: string | undefined;

/**
 * Candidate directories in order: $TMPDIR (os.tmpdir()), /dev/shm, the binary's own
 * directory (it holds an executable, so it is rarely noexec), $XDG_RUNTIME_DIR.
 */
function candidateDirs(): string[] {
  const dirs = [tmpdir(), "/dev/shm", dirname(process.execPath), process.env.XDG_RUNTIME_DIR];
  return [...new Set(dirs.filter((d): d is string => typeof d === "string" && d !== ""))];
}

/**
 * An unnamed file in `dir`: O_TMPFILE where the filesystem supports it, otherwise a
 * file created with O_EXCL and unlinked at once (same lifetime, one short window).
 */
function openAnonymous(dir: string): number {
  try {
    return openSync(dir, O_TMPFILE | constants.O_RDWR, 0o700);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // EOPNOTSUPP/EISDIR/EINVAL: no O_TMPFILE support here (see open(2)).
    if (code !== "EOPNOTSUPP" && code !== "EISDIR" && code !== "EINVAL") throw e;
  }
  const path = join(dir, `.tsbpf-koffi-${process.pid}-${Date.now().toString(36)}.node`);
  const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o700);
  unlinkSync(path);
  return fd;
}

/** Tries one directory; returns the addon's exports or a one-line reason. */
function tryDir(dir: string, bytes: Uint8Array): { exports: unknown; fd: number } | { why: string } {
  let fd: number;
  try {
    fd = openAnonymous(dir);
  } catch (e) {
    return { why: `${dir}: cannot create a file (${(e as NodeJS.ErrnoException).code ?? e})` };
  }
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    const module = { exports: {} as unknown };
    // dlopen(3) opens the path itself, and /proc/self/fd/N re-opens our unnamed inode.
    // On a noexec mount mmap(PROT_EXEC) fails with EPERM, so dlopen reports "failed to
    // map segment": the reliable noexec test, whatever the mount options say.
    process.dlopen(module, `/proc/self/fd/${fd}`);
    // Kept open (close-on-exec: Node opens files with O_CLOEXEC): the epoll worker thread
    // (src/sys/epoll-worker.ts) dlopens the same file through this path, since a
    // worker's require() cannot reach the SEA asset. The inode vanishes at exit.
    return { exports: module.exports, fd };
  } catch (e) {
    closeSync(fd);
    const msg = (e as Error).message.replace(/^.*?: /, "");
    return { why: `${dir}: ${msg}` };
  }
}

let cached: unknown;

/** Loads the embedded addon once; throws KoffiLoadError when no location works. */
export function loadEmbeddedKoffiAddon(): unknown {
  if (cached !== undefined) return cached;
  const bytes = readAsset(KOFFI_ADDON_ASSET);
  const failures: string[] = [];
  for (const dir of candidateDirs()) {
    const r = tryDir(dir, bytes);
    if ("exports" in r) {
      addonLoadedFrom = dir;
      (globalThis as Record<symbol, unknown>)[ADDON_PATH_SLOT] = `/proc/self/fd/${r.fd}`;
      cached = r.exports;
      return cached;
    }
    failures.push(r.why);
  }
  const dirs = candidateDirs();
  const list = dirs.length > 1 ? `${dirs.slice(0, -1).join(", ")} and ${dirs.at(-1)}` : dirs.join("");
  throw new KoffiLoadError(
    `cannot load the embedded koffi addon: ${list} are all noexec or unwritable ` +
      `(${failures.join("; ")}); set TMPDIR to an exec-allowed directory`,
  );
}

let koffiMod: typeof koffiType | undefined;

/**
 * koffi, with its addon loaded from the SEA asset on the first call. Never at module
 * load: the modules are evaluated into the binary's start-up snapshot at build time,
 * and a snapshot may hold no native addon, open fd or temporary file.
 */
export function getKoffi(): typeof koffiType {
  if (koffiMod !== undefined) return koffiMod;
  (globalThis as Record<symbol, unknown>)[ADDON_SLOT] = loadEmbeddedKoffiAddon();
  // A CommonJS require, resolved and bundled by esbuild (see the header): esbuild
  // evaluates koffi's entry here, after ADDON_SLOT is filled.
  const wrapper = require("koffi") as { default?: typeof koffiType } & typeof koffiType;
  koffiMod = wrapper.default ?? wrapper;
  return koffiMod;
}
