// A persistent cache of CO-RE results, for start-up time. Relocating an object's
// programs against a given kernel BTF gives the same instructions every time while
// that kernel runs, and so does the attach_btf_id of a tp_btf/fentry target (BTF ids
// are fixed for a boot). A hit lets the loader skip reading and parsing vmlinux BTF
// (5.5 MB, 30-90 ms) and the resolution itself (65-370 ms cold on this machine).
//
// Key: sha256 of (format version, what CO-RE reads from the object: each program's
// linked instructions before CO-RE, its CO-RE records and attach target, the object's
// BTF) and of the target's identity: the running kernel's boot_id plus the size and
// mtime of /sys/kernel/btf/vmlinux, and with --btf FILE the file's sha256 as well.
// Poisoned records (normal in branches for other kernels) are stored with what
// explains a rejection (index, insn, reason, source line). Entries are only written
// after every program loaded. Any problem (unwritable directory, corrupt or foreign file) means
// "no cache": the loader then does the work as if there were none.
import { createHash } from "node:crypto";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { CollectionSpec } from "../spec.ts";
import type { LinkedProgram } from "./link.ts";
import type { CorePoison } from "./program.ts";

/** Bumped whenever the entry format or anything that shapes CO-RE output changes. */
const FORMAT = "tsbpf-core-cache-1";
/** Set to 1 to disable the cache (same as --no-cache). */
export const NO_CACHE_ENV = "TSBPF_NO_CACHE";

export interface CachedProgram {
  /** The linked program's instructions after CO-RE, before map/extern relocations. */
  insns: Uint8Array;
  attachBtfId?: number;
  /** Poisoned CO-RE records (in dead branches they are normal): what explains a rejection. */
  poisoned: CorePoison[];
}

export type CoreCacheEntry = Record<string, CachedProgram>;

export interface CoreCache {
  /** The stored entry for this object and kernel, if valid. */
  read(): CoreCacheEntry | undefined;
  /** Stores an entry (best effort, atomic rename; errors are ignored). */
  write(entry: CoreCacheEntry): void;
  /** Path of the entry file (for messages and tests). */
  readonly file: string;
}

/** Where entries live: $XDG_CACHE_HOME/tsbpf, /var/cache/tsbpf for root, ~/.cache/tsbpf. */
export function coreCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "tsbpf");
  if (process.getuid?.() === 0) return "/var/cache/tsbpf";
  if (env.HOME) return join(env.HOME, ".cache", "tsbpf");
  return undefined;
}

export function coreCacheDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[NO_CACHE_ENV];
  return v !== undefined && v !== "" && v !== "0";
}

/** The running kernel and the CO-RE target, as cheaply as possible (no BTF parsing). */
function targetIdentity(btfOverride: string | undefined): string {
  const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  const st = statSync("/sys/kernel/btf/vmlinux");
  let id = `boot ${boot} vmlinux ${st.size} ${st.mtimeMs}`;
  if (btfOverride !== undefined)
    id += ` btf ${createHash("sha256").update(readFileSync(btfOverride)).digest("hex")}`;
  return id;
}

function objectDigest(spec: CollectionSpec, linked: LinkedProgram[]): string {
  const h = createHash("sha256");
  h.update(FORMAT);
  if (spec.btf) h.update(spec.btf.raw);
  for (const lp of linked) {
    const p = lp.spec;
    h.update(`\0${p.name}\0${p.section}\0${p.attach}\0${p.attachTo ?? ""}\0${lp.insns.length}\0`);
    h.update(lp.insns);
    h.update(JSON.stringify(lp.coreRelos));
  }
  return h.digest("hex");
}

/**
 * The cache for this object (linked programs BEFORE CO-RE) and target, or undefined
 * when it is disabled or no key can be made (no boot_id, no vmlinux BTF).
 */
export function openCoreCache(
  spec: CollectionSpec,
  linked: LinkedProgram[],
  btfOverride: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): CoreCache | undefined {
  if (coreCacheDisabled(env)) return undefined;
  const dir = coreCacheDir(env);
  if (!dir) return undefined;
  let key: string;
  try {
    key = createHash("sha256")
      .update(`${objectDigest(spec, linked)}\0${targetIdentity(btfOverride)}`)
      .digest("hex");
  } catch {
    return undefined;
  }
  const file = join(dir, `core-${key}.json`);
  const sizes = new Map(linked.map((lp) => [lp.spec.name, lp.insns.length]));
  return {
    file,
    read: () => readEntry(file, key, sizes),
    write: (entry) => writeEntry(dir, file, key, entry),
  };
}

interface StoredEntry {
  format: string;
  key: string;
  /** sha256 of JSON.stringify(programs): catches a damaged file that still parses. */
  sum: string;
  programs: Record<string, { insns: string; attachBtfId?: number; poisoned: CorePoison[] }>;
}

function readEntry(file: string, key: string, sizes: Map<string, number>): CoreCacheEntry | undefined {
  let text: string;
  try {
    const fd = openSync(file, "r");
    try {
      // Only trust a file we (same uid) wrote and nobody else can change: a root
      // tracer must not load instructions another user planted.
      const st = fstatSync(fd);
      if (st.uid !== (process.getuid?.() ?? st.uid) || (st.mode & 0o022) !== 0 || !st.isFile())
        return undefined;
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  try {
    const e = JSON.parse(text) as StoredEntry;
    if (e.format !== FORMAT || e.key !== key || typeof e.programs !== "object" || !e.programs)
      return undefined;
    if (createHash("sha256").update(JSON.stringify(e.programs)).digest("hex") !== e.sum) return undefined;
    const out: CoreCacheEntry = {};
    for (const [name, size] of sizes) {
      const p = e.programs[name];
      if (!p || typeof p.insns !== "string") return undefined;
      const insns = new Uint8Array(Buffer.from(p.insns, "base64"));
      if (insns.length !== size) return undefined;
      const id = p.attachBtfId;
      if (id !== undefined && !(Number.isInteger(id) && id > 0)) return undefined;
      if (!Array.isArray(p.poisoned) || !p.poisoned.every(isPoison)) return undefined;
      out[name] =
        id !== undefined ? { insns, attachBtfId: id, poisoned: p.poisoned } : { insns, poisoned: p.poisoned };
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * mkdir -p with a depth bound. Not mkdirSync's `recursive`: on Node 20 it spins
 * forever under /proc (measured: mkdirSync("/proc/x/y", { recursive: true }) never
 * returns), and XDG_CACHE_HOME can point anywhere.
 */
function makeDir(dir: string, depth: number): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    const parent = dirname(dir);
    if (code !== "ENOENT" || depth === 0 || parent === dir) throw e;
    makeDir(parent, depth - 1);
    mkdirSync(dir, { mode: 0o700 });
  }
}

function isPoison(x: unknown): x is CorePoison {
  const r = x as CorePoison;
  return (
    typeof r === "object" &&
    r !== null &&
    Number.isInteger(r.index) &&
    Number.isInteger(r.insn) &&
    r.poisoned === true &&
    (r.error === undefined || typeof r.error === "string") &&
    (r.source === undefined || typeof r.source === "string")
  );
}

function writeEntry(dir: string, file: string, key: string, entry: CoreCacheEntry): void {
  try {
    store(dir, file, key, entry);
  } catch {
    // Best effort: a failed write only costs the next start its speed.
  }
}

function store(dir: string, file: string, key: string, entry: CoreCacheEntry): void {
  const programs: StoredEntry["programs"] = {};
  for (const [name, p] of Object.entries(entry)) {
    programs[name] = {
      insns: Buffer.from(p.insns.buffer, p.insns.byteOffset, p.insns.byteLength).toString("base64"),
      ...(p.attachBtfId !== undefined ? { attachBtfId: p.attachBtfId } : {}),
      poisoned: p.poisoned.map((r) => ({
        index: r.index,
        insn: r.insn,
        poisoned: true,
        ...(r.error !== undefined ? { error: r.error } : {}),
        ...(r.source !== undefined ? { source: r.source } : {}),
      })),
    };
  }
  const sum = createHash("sha256").update(JSON.stringify(programs)).digest("hex");
  const stored: StoredEntry = { format: FORMAT, key, sum, programs };
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    makeDir(dir, 16);
    writeFileSync(tmp, JSON.stringify(stored), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A read-only or full cache directory only costs the next start its speed.
    rmSync(tmp, { force: true });
  }
}
