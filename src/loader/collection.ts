// The high-level API: an object file (path, bytes or CollectionSpec) in, kernel
// objects out, keyed by their C names. Creation order follows libbpf's
// bpf_object__load: BTF → maps (inner templates, global data written, .rodata
// frozen) → map-in-map slots → programs (link, CO-RE, relocate, load) → prog_array
// slots. Any failure closes everything created so far: no fd or kernel object leaks.
import { readFileSync } from "node:fs";
import { Btf } from "../btf/btf.ts";
import type { BtfCache } from "../btf/kernel.ts";
import { resolveExterns } from "../core/externs.ts";
import { type CoreReloResult, relocateLinked } from "../core/relocate.ts";
import { readCollectionSpec } from "../elf/collection.ts";
import { TsbpfError } from "../errors.ts";
import { GlobalData, type GlobalValue, setRodata } from "../maps/global-data.ts";
import { BpfMap } from "../maps/map.ts";
import { createOrReusePinned, DEFAULT_PIN_DIR, pinPath } from "../maps/pin.ts";
import type { CollectionSpec, MapSpec } from "../spec.ts";
import { type BpfRecorder, closeFd, withBpfRecorder } from "../sys/bpf.ts";
import { FeatureProbes } from "../sys/features.ts";
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from "../uapi.ts";
import { loadPreparedBtf, prepareBtf } from "./btf.ts";
import { type CoreCacheEntry, openCoreCache } from "./core-cache.ts";
import { LoadError, UnsupportedProgramError } from "./errors.ts";
import { Program } from "./handle.ts";
import { linkProgram } from "./link.ts";
import { type CorePoison, loadProgram } from "./program.ts";
import { applyRelocations, type ResolvedKsym } from "./relocate.ts";
import type { OnStep } from "./steps.ts";
import { chooseTargets, type TargetChoice } from "./target-btf.ts";

/** Changes to one map before it is created (LoadOptions.maps). */
export interface MapOverride {
  maxEntries?: number;
  flags?: number;
}

/** Options of loadCollection(): how to prepare and load an object. */
export interface LoadOptions {
  /** Values for `.rodata` (const volatile) variables, set before load. */
  rodata?: Record<string, GlobalValue>;
  /** Per-map changes before creation, by C name. */
  maps?: Record<string, MapOverride>;
  /** Where maps marked LIBBPF_PIN_BY_NAME are pinned or reused (default /sys/fs/bpf). */
  pinDir?: string;
  /**
   * The CO-RE and extern target instead of the running kernel's BTF (cilium/ebpf's
   * ProgramOptions.KernelTypes), e.g. a BTFHub file read with readTargetBtf(). Module
   * BTF is not searched then (a BTFHub file describes vmlinux only): list it in
   * extraTargets. Attach targets (tp_btf, fentry) are still found in the running kernel.
   */
  targetBtf?: Btf;
  /** Path convenience for targetBtf: raw BTF or an ELF object with a .BTF section. */
  btf?: string;
  /**
   * More BTF searched, in order, for CO-RE candidates the target lacks (cilium/ebpf's
   * ExtraRelocationTargets). Without targetBtf they come after the kernel's module BTF.
   */
  extraTargets?: Btf[];
  /**
   * The running kernel's vmlinux and module BTF, parsed at most once per cache: pass one
   * to share it across loads. Default: a cache for this load alone.
   */
  btfCache?: BtfCache;
  /** Kernel feature answers (BTF kinds, trampolines, perf links): default one set per load. */
  features?: FeatureProbes;
  /** Sees every bpf() call the load makes (not those of later attach or map calls). */
  recorder?: BpfRecorder;
  onStep?: OnStep;
  /**
   * Verifier log level for every program (0: log only on failure). With 1 or 2 the log
   * of an accepted program is kept too (its prog_loaded step carries it); the buffer
   * starts at 1 MiB and grows on ENOSPC to the size the kernel reports.
   */
  logLevel?: number;
  /**
   * Told about a program that fails to link, relocate or load. When given, the load goes
   * on without that program (the Collection lacks it) instead of failing: for tools
   * that want a verdict per program, as `tsbpf explain` does. Without it the first
   * failure fails the whole load, as in libbpf.
   */
  onProgramError?: (program: string, error: Error) => void;
  /**
   * Reuse CO-RE results (patched instructions, attach_btf_id) stored by an earlier
   * load of the same object on the same running kernel (src/loader/core-cache.ts).
   * Off by default (and whenever TSBPF_NO_CACHE=1). On a hit no core_relocation
   * steps are reported: `explain` leaves it off to show the real work.
   */
  coreCache?: boolean;
}

/** What loadCollection() loads: an object's path, its bytes, or a CollectionSpec read (and perhaps edited) before. */
export type Source = string | Uint8Array | CollectionSpec;

function toSpec(src: Source): CollectionSpec {
  if (typeof src === "string") {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(src);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === "ENOENT"
          ? "no such file"
          : code === "EISDIR"
            ? "it is a directory"
            : code === "EACCES"
              ? "permission denied"
              : (e as Error).message;
      throw new LoadError(`cannot read BPF object '${src}': ${why}`, { cause: e });
    }
    return readCollectionSpec(bytes, src);
  }
  if (src instanceof Uint8Array) return readCollectionSpec(src, "<bytes>");
  return src;
}

/** Section → globals key: ".bss" → "bss", ".rodata.str1.1" → "rodata.str1.1". */
function globalsKey(section: string): string {
  return section.replace(/^\./, "");
}

/**
 * What a loaded object holds, by name. The default says only "some programs, maps and
 * globals"; `tsbpf gen` writes the exact shape of one object, so that a misspelt
 * program name is a type error and every map and global has its C type.
 */
export interface CollectionShape {
  programs: { [name: string]: Program };
  // biome-ignore lint/suspicious/noExplicitAny: each map of a shape has its own key and value types
  maps: { [name: string]: BpfMap<any, any> };
  globals: { [section: string]: Record<string, unknown> };
}

/** The loaded kernel objects of one BPF object file, keyed by their C names. */
export class Collection<S extends CollectionShape = CollectionShape> {
  readonly spec: CollectionSpec;
  /** Programs by C function name. */
  readonly programs: S["programs"] = {} as S["programs"];
  /** By C name; global-data maps also under their section name ("bss", "rodata", ...). */
  readonly maps: S["maps"] = {} as S["maps"];
  /**
   * The global variables of each global-data section, by section without its dot
   * (`globals.bss.counter`, `globals.data.x`, `globals.rodata.config`). `.data` and
   * `.bss` read and write the memory the programs use (mmap), with no syscall;
   * `.rodata` is frozen at load, so set it through LoadOptions.rodata.
   */
  readonly globals: S["globals"] = {} as S["globals"];
  readonly globalData: Record<string, GlobalData> = {};
  /** fd of the object's BTF in the kernel; undefined when it has none or it was rejected. */
  btfFd: number | undefined;
  /** Why the kernel refused the BTF, when it did (programs then load without it). */
  btfRejected: string | undefined;
  /** The BTF as loaded (DATASEC offsets fixed up): use it for codecs. */
  btf: Btf | undefined;
  private readonly owned: { close(): void }[] = [];
  private closed = false;

  constructor(spec: CollectionSpec) {
    this.spec = spec;
  }

  /** @internal */
  own<T extends { close(): void }>(x: T): T {
    this.owned.push(x);
    return x;
  }

  /** Close programs (detaching their links), maps and the BTF. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: unknown;
    for (const x of this.owned.reverse()) {
      try {
        x.close();
      } catch (e) {
        first ??= e;
      }
    }
    this.owned.length = 0;
    if (first) throw first;
  }

  /** Same as close(): `using coll = await loadCollection(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Loads an object: see LoadOptions. Resolves to a Collection (close it when done). */
export async function loadCollection(src: Source, opts: LoadOptions = {}): Promise<Collection> {
  return loadCollectionSync(src, opts);
}

/** loadCollection(), synchronously (loading makes only blocking syscalls). */
export function loadCollectionSync(src: Source, opts: LoadOptions = {}): Collection {
  const rec = opts.recorder;
  return rec ? withBpfRecorder(rec, () => load(src, opts)) : load(src, opts);
}

/** What a load relocates against and asks the kernel about, decided once per load. */
interface LoadContext extends TargetChoice {
  features: FeatureProbes;
}

function loadContext(opts: LoadOptions): LoadContext {
  return { ...chooseTargets(opts), features: opts.features ?? new FeatureProbes() };
}

function load(src: Source, opts: LoadOptions): Collection {
  const ctx = loadContext(opts);
  const orig = toSpec(src);
  // Private copies of what gets edited (map sizes, .rodata contents).
  const spec: CollectionSpec = {
    ...orig,
    maps: orig.maps.map((m) => ({ ...m, globalData: m.globalData && { ...m.globalData } })),
  };
  refuseUntypedPrograms(spec);
  const coll = new Collection(spec);
  try {
    build(coll, spec, opts, ctx);
    return coll;
  } catch (e) {
    try {
      coll.close();
    } catch {
      // the original error is the one to report
    }
    throw e;
  }
}

/**
 * A program whose SEC() name matches no known section has no program type, and
 * BPF_PROG_LOAD would fail with a bare EINVAL after the maps were made. Refuse it first,
 * naming the section, as libbpf does ("missing BPF prog type, check ELF section name");
 * like libbpf, a prefix with an unexpected suffix (SEC("socket/name")) is not accepted.
 * A caller that knows the type sets progType in the ProgramSpec before loading.
 */
function refuseUntypedPrograms(spec: CollectionSpec): void {
  const bad = spec.programs.filter((p) => p.progType === BPF_PROG_TYPE.UNSPEC);
  if (bad.length === 0) return;
  const list = bad.map((p) => `'${p.name}' in SEC("${p.section}")`).join(", ");
  throw new UnsupportedProgramError(
    `${spec.path}: program ${list}: the section name gives no program type (no SEC() name of libbpf's matches it, e.g. SEC("socket"), SEC("kprobe/<function>"), SEC("tracepoint/<category>/<name>")); rename the section, or set the program's type in its spec before loading`,
  );
}

function applyOverrides(spec: CollectionSpec, over: Record<string, MapOverride>): void {
  for (const [name, o] of Object.entries(over)) {
    const m = spec.maps.find((x) => x.name === name);
    if (!m)
      throw new LoadError(
        `${spec.path}: no map '${name}' to override (maps: ${spec.maps.map((x) => x.name).join(", ")})`,
      );
    if (o.maxEntries !== undefined) m.maxEntries = o.maxEntries;
    if (o.flags !== undefined) m.flags = o.flags;
  }
}

function build(coll: Collection, spec: CollectionSpec, opts: LoadOptions, ctx: LoadContext): void {
  const onStep = opts.onStep;
  applyOverrides(spec, opts.maps ?? {});

  // 1. BTF, fixed up for the kernel; its parsed form has the real DATASEC offsets.
  const prepared = spec.btf ? prepareBtf(spec, spec.btf, ctx.features) : undefined;
  coll.btf = prepared ? Btf.parse(prepared.bytes, { name: spec.btf?.name }) : undefined;
  if (opts.rodata && Object.keys(opts.rodata).length) {
    const ro = spec.maps.find((m) => m.globalData?.section === ".rodata");
    if (!ro || !coll.btf)
      throw new LoadError(
        `${spec.path}: rodata values given, but the object has no .rodata section with BTF`,
      );
    setRodata(ro, coll.btf, opts.rodata);
  }
  if (prepared) {
    const loaded = loadPreparedBtf(spec.path, prepared, { onStep });
    if (loaded) {
      coll.btfFd = loaded.fd;
      coll.own({ close: () => closeFd(loaded.fd) });
    } else coll.btfRejected = "the kernel rejected the object's BTF";
  }

  // 2. Externs, before the maps: the .kconfig map's contents come from them.
  let ksyms = new Map<string, ResolvedKsym>();
  if (spec.externs.length > 0) {
    const res = resolveExterns(spec, ctx.target(), {
      ksymBtf: () => ctx.kernel(),
      modules: () => ctx.ksymModules(),
    });
    ksyms = res.ksyms;
    const kc = spec.maps.find((m) => m.globalData?.section === ".kconfig");
    if (kc?.globalData && res.kconfig) kc.globalData.contents = res.kconfig;
    for (const e of spec.externs) {
      const k = ksyms.get(e.name);
      onStep?.({
        step: "extern_resolved",
        name: e.name,
        kind: e.kind,
        value:
          e.kind === "kconfig"
            ? `.kconfig+${e.offset}`
            : k
              ? `btf id ${k.btfId}${k.btfObjFd ? ` (module btf fd ${k.btfObjFd})` : ""}`
              : "unresolved",
      });
    }
  }

  // 3. Maps.
  const mapFds = new Map<string, number>();
  const btfOpts = { btf: coll.btf, btfFd: coll.btfFd };
  for (const m of spec.maps) {
    let map: BpfMap;
    if (m.globalData) {
      const gd = coll.own(GlobalData.create(m, coll.btf, btfOpts));
      map = gd.map;
      const key = globalsKey(m.globalData.section);
      coll.globalData[key] = gd;
      coll.globals[key] = gd.vars;
      coll.maps[key] ??= map;
      onStep?.({
        step: "global_data_written",
        map: m.name,
        bytes: m.valueSize,
        frozen: m.globalData.readonly,
      });
    } else if (m.pinning === "by_name") {
      map = coll.own(createOrReusePinned(m, pinPath(m, opts.pinDir ?? DEFAULT_PIN_DIR), btfOpts).map);
    } else {
      map = coll.own(BpfMap.create(m, btfOpts));
    }
    coll.maps[m.name] = map;
    mapFds.set(m.name, map.fd);
    onStep?.({
      step: "map_created",
      name: m.name,
      type: m.typeName,
      fd: map.fd,
      attrs: {
        key_size: map.spec.keySize,
        value_size: map.spec.valueSize,
        max_entries: map.spec.maxEntries,
        map_flags: map.spec.flags,
      },
    });
  }
  for (const m of spec.maps) {
    if (m.type === BPF_MAP_TYPE.PROG_ARRAY) continue;
    for (const slot of m.initialSlots ?? []) {
      const inner = mapFds.get(slot.name);
      if (inner === undefined)
        throw new LoadError(
          `${spec.path}: map '${m.name}' slot ${slot.index} names map '${slot.name}', which is not in the object`,
        );
      coll.maps[m.name]?.update(slot.index, inner);
    }
  }

  // 4. Programs.
  const kconfigMap = spec.maps.find((m) => m.globalData?.section === ".kconfig")?.name;
  const useCache = opts.coreCache === true;
  // With the cache, link everything first: the key covers every program's pre-CO-RE code.
  const linked = useCache ? spec.programs.map((p) => linkProgram(spec, p, onStep)) : [];
  const cache = useCache ? openCoreCache(spec, linked, { target: ctx.given, extra: ctx.extra }) : undefined;
  const hit = cache?.read();
  const fresh: CoreCacheEntry = {};
  const cacheable = cache !== undefined && hit === undefined;
  const failed = new Set<string>();
  spec.programs.forEach((p, i) => {
    if (!opts.onProgramError) {
      loadOne(p, i);
      return;
    }
    try {
      loadOne(p, i);
    } catch (e) {
      if (!(e instanceof TsbpfError)) throw e;
      failed.add(p.name);
      opts.onProgramError(p.name, e);
    }
  });
  function loadOne(p: CollectionSpec["programs"][number], i: number): void {
    const lp = linked[i] ?? linkProgram(spec, p, onStep);
    const cached = hit?.[p.name];
    let core: CoreReloResult[] | undefined;
    let poisoned: CorePoison[] | undefined = cached?.poisoned;
    if (cached) {
      lp.insns.set(cached.insns);
    } else if (lp.coreRelos.length > 0) {
      if (!spec.btf)
        throw new LoadError(
          `${spec.path}: program '${p.name}' has CO-RE relocations but the object has no BTF`,
        );
      core = relocateLinked(lp, spec.btf, ctx.targets());
      poisoned = core.filter((r) => r.poisoned);
      for (const r of core)
        onStep?.({ step: "core_relocation", program: p.name, result: { ...r, kind: r.kindName } });
    }
    const afterCore = cacheable ? lp.insns.slice() : undefined;
    const fdArray: number[] = [];
    applyRelocations(lp, {
      objectPath: spec.path,
      mapFds,
      externs: spec.externs,
      kconfigMap,
      ksyms,
      fdArray,
      onStep,
    });
    const info = loadProgram(lp, {
      objectPath: spec.path,
      license: spec.license,
      kernVersion: spec.kernelVersion,
      btfFd: coll.btfFd,
      funcInfoRecSize: spec.btfExt?.funcInfoRecSize,
      lineInfoRecSize: spec.btfExt?.lineInfoRecSize,
      fdArray,
      logLevel: opts.logLevel,
      coreResults: core ?? poisoned,
      attachBtfId: cached?.attachBtfId,
      kernelBtf: () => ctx.kernel(),
      features: ctx.features,
      onStep,
    });
    if (afterCore)
      fresh[p.name] = {
        insns: afterCore,
        poisoned: poisoned ?? [],
        ...(info.attachBtfId !== undefined ? { attachBtfId: info.attachBtfId } : {}),
      };
    coll.programs[p.name] = coll.own(new Program(info.fd, lp, info.stats, onStep, ctx.features));
  }
  // Only after every program loaded: an entry never records a load that failed.
  if (cache && cacheable && failed.size === 0) cache.write(fresh);

  // 5. prog_array slots name programs.
  for (const m of spec.maps) {
    if (m.type !== BPF_MAP_TYPE.PROG_ARRAY) continue;
    for (const slot of m.initialSlots ?? []) {
      const prog = coll.programs[slot.name];
      // A program that failed was already reported to onProgramError: its slot stays empty.
      if (!prog && failed.has(slot.name)) continue;
      if (!prog)
        throw new LoadError(
          `${spec.path}: prog_array '${m.name}' slot ${slot.index} names program '${slot.name}', which is not in the object`,
        );
      coll.maps[m.name]?.update(slot.index, prog.fd);
    }
  }
}

export type { MapSpec };
