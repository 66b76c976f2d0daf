// A persistent cache of CO-RE results, for start-up time. Relocating an object's
// programs against a given kernel BTF gives the same instructions every time while
// that kernel runs, and so does the attach_btf_id of a tp_btf/fentry target (BTF ids
// are fixed for a boot). A hit lets the loader skip reading and parsing vmlinux BTF
// (5.5 MB) and the resolution itself, the bulk of a cold load (bench/README.md).
//
// Key material: the format version, what CO-RE reads from the object (each program's
// linked instructions before CO-RE, its CO-RE records and attach target, the object's
// BTF) and the target's identity: the running kernel's boot_id plus the size and mtime
// of /sys/kernel/btf/vmlinux, and with a target BTF given as a value its sha256 as well. The entry
// stores the material itself and a hit needs it byte for byte (one native string
// compare). The file name is a 64-bit hash of a short summary of it (object path,
// program names and sizes, target identity): a different object that happens to share
// the name is a miss, then overwritten, never a wrong hit. No node:crypto on this path:
// loading that module alone was a visible part of a warm start; only --btf FILE still
// needs a sha256.
// Poisoned records (normal in branches for other kernels) are stored with what
// explains a rejection (index, insn, reason, source line). Entries are only written
// after every program loaded. Any problem (unwritable directory, corrupt or foreign file) means
// "no cache": the loader then does the work as if there were none.
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
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Btf } from "../btf/btf.ts";
import type { CollectionSpec } from "../spec.ts";
import type { LinkedProgram } from "./link.ts";
import type { CorePoison } from "./program.ts";

/** Bumped whenever the entry format or anything that shapes CO-RE output changes. */
const FORMAT = "tsbpf-core-cache-2";
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

/**
 * The running kernel and the CO-RE targets, as cheaply as possible (no BTF parsing):
 * `given` are targets passed as values (LoadOptions.targetBtf, extraTargets), hashed.
 */
function targetIdentity(given: Btf[]): string {
  const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  const st = statSync("/sys/kernel/btf/vmlinux");
  let id = `boot ${boot} vmlinux ${st.size} ${st.mtimeMs}`;
  if (given.length > 0) {
    // A rare path: node:crypto is loaded only for it.
    const { createHash } = createRequire(process.execPath)("node:crypto") as typeof import("node:crypto");
    for (const b of given) id += ` btf ${createHash("sha256").update(b.raw).digest("hex")}`;
  }
  return id;
}

const b64 = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("base64");

/** Everything CO-RE's output depends on, as one string (base64 for the bytes: native, fast). */
function keyMaterial(spec: CollectionSpec, linked: LinkedProgram[], identity: string): string {
  const parts = [FORMAT, spec.btf ? b64(spec.btf.raw) : "", identity];
  for (const lp of linked) {
    const p = lp.spec;
    parts.push(p.name, p.section, p.attach, p.attachTo ?? "", b64(lp.insns), JSON.stringify(lp.coreRelos));
  }
  return parts.join("\0");
}

/** The file-name key: a hash of a short summary of the key material (see the header). */
function summaryKey(spec: CollectionSpec, linked: LinkedProgram[], identity: string): string {
  const h = new Sum64()
    .str(FORMAT)
    .str(spec.path)
    .str(identity)
    .word(spec.btf?.raw.length ?? -1);
  for (const lp of linked)
    h.str(lp.spec.name).str(lp.spec.section).word(lp.insns.length).word(lp.coreRelos.length);
  return h.hex();
}

/**
 * Two 32-bit lanes over 32-bit words (an FNV-1a-style multiply and a Murmur-style
 * mix). Each step is a bijection of the lane for a given input, so any change confined
 * to one word always changes the result; other changes collide with odds ~2^-64. A
 * check against accidental damage and a file name, not a defence against a forger:
 * the entry file's owner and mode are (readEntry). Cheap enough cold, where sha256
 * meant loading node:crypto.
 */
export class Sum64 {
  private a = 0x811c9dc5 | 0;
  private b = 0x9747b28c | 0;

  word(x: number): this {
    this.a = Math.imul(this.a ^ x, 0x01000193);
    const b = Math.imul(this.b ^ x, 0x5bd1e995);
    this.b = b ^ (b >>> 15);
    return this;
  }

  bytes(u: Uint8Array): this {
    const n = u.byteLength >>> 2;
    const w =
      (u.byteOffset & 3) === 0
        ? new Int32Array(u.buffer, u.byteOffset, n)
        : new Int32Array(u.slice(0, n * 4).buffer);
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < n; i++) {
      const x = w[i] as number;
      a = Math.imul(a ^ x, 0x01000193);
      const m = Math.imul(b ^ x, 0x5bd1e995);
      b = m ^ (m >>> 15);
    }
    this.a = a;
    this.b = b;
    for (let i = n * 4; i < u.byteLength; i++) this.word(u[i] as number);
    return this.word(u.byteLength);
  }

  str(s: string): this {
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
    return this.word(s.length);
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, "0") + (this.b >>> 0).toString(16).padStart(8, "0");
  }
}

/** Integrity sum of an entry's programs, over what a hit hands to the loader. */
function programsSum(programs: Iterable<[string, Uint8Array, number | undefined, CorePoison[]]>): string {
  const h = new Sum64();
  for (const [name, insns, id, poisoned] of programs)
    h.str(name)
      .bytes(insns)
      .word(id ?? -1)
      .str(JSON.stringify(poisoned));
  return h.hex();
}

/**
 * The cache for this object (linked programs BEFORE CO-RE) and target, or undefined
 * when it is disabled or no key can be made (no boot_id, no vmlinux BTF).
 */
export function openCoreCache(
  spec: CollectionSpec,
  linked: LinkedProgram[],
  targets: { target?: Btf; extra?: Btf[] } = {},
  env: NodeJS.ProcessEnv = process.env,
): CoreCache | undefined {
  if (coreCacheDisabled(env)) return undefined;
  const dir = coreCacheDir(env);
  if (!dir) return undefined;
  let identity: string;
  try {
    // The target's position matters: "target X" and "extra X" are different loads.
    identity = targetIdentity(
      targets.target ? [targets.target, ...(targets.extra ?? [])] : (targets.extra ?? []),
    );
    if (!targets.target && targets.extra?.length) identity += " (extra only)";
  } catch {
    return undefined;
  }
  const key = summaryKey(spec, linked, identity);
  // Built now: the linked programs are patched in place after read(), before write().
  const material = keyMaterial(spec, linked, identity);
  const file = join(dir, `core-${key}.json`);
  const sizes = new Map(linked.map((lp) => [lp.spec.name, lp.insns.length]));
  return {
    file,
    read: () => readEntry(file, key, material, sizes),
    write: (entry) => writeEntry(dir, file, key, material, entry),
  };
}

interface StoredEntry {
  format: string;
  /** The file name's hash (a cheap first check). */
  key: string;
  /** The full key material; a hit needs it to be identical. */
  material: string;
  /** programsSum of the programs as decoded: catches a damaged file that still parses. */
  sum: string;
  programs: Record<string, { insns: string; attachBtfId?: number; poisoned: CorePoison[] }>;
}

function readEntry(
  file: string,
  key: string,
  material: string,
  sizes: Map<string, number>,
): CoreCacheEntry | undefined {
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
    if (e.format !== FORMAT || e.key !== key || e.material !== material) return undefined;
    if (typeof e.programs !== "object" || !e.programs) return undefined;
    const all: [string, Uint8Array, number | undefined, CorePoison[]][] = [];
    for (const [name, p] of Object.entries(e.programs)) {
      if (!p || typeof p.insns !== "string" || !Array.isArray(p.poisoned)) return undefined;
      all.push([name, new Uint8Array(Buffer.from(p.insns, "base64")), p.attachBtfId, p.poisoned]);
    }
    if (programsSum(all) !== e.sum) return undefined;
    const out: CoreCacheEntry = {};
    for (const [name, size] of sizes) {
      const found = all.find((x) => x[0] === name);
      if (!found) return undefined;
      const [, insns, id, poisoned] = found;
      if (insns.length !== size) return undefined;
      if (id !== undefined && !(Number.isInteger(id) && id > 0)) return undefined;
      if (!poisoned.every(isPoison)) return undefined;
      out[name] = id !== undefined ? { insns, attachBtfId: id, poisoned } : { insns, poisoned };
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * mkdir -p with a depth bound. Not mkdirSync's `recursive`: on Node 20 it spins
 * forever under /proc (mkdirSync("/proc/x/y", { recursive: true }) never returns), and
 * XDG_CACHE_HOME can point anywhere.
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

function writeEntry(dir: string, file: string, key: string, material: string, entry: CoreCacheEntry): void {
  try {
    store(dir, file, key, material, entry);
  } catch {
    // Best effort: a failed write only costs the next start its speed.
  }
}

function store(dir: string, file: string, key: string, material: string, entry: CoreCacheEntry): void {
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
  const sum = programsSum(
    Object.entries(entry).map(([name, p]) => [name, p.insns, p.attachBtfId, programs[name]?.poisoned ?? []]),
  );
  const stored: StoredEntry = { format: FORMAT, key, material, sum, programs };
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
