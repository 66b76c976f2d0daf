// Global-data maps (.rodata, .data, .bss): single-entry arrays holding a whole ELF
// section, as libbpf creates them (bpf_object__init_internal_map). .rodata gets
// BPF_F_RDONLY_PROG, is filled with BPF_MAP_UPDATE_ELEM and BPF_MAP_FREEZE'd before
// any program loads, so the verifier may treat it as constant. .data/.bss are
// BPF_F_MMAPABLE and mmap'd shared: `vars.x` reads and writes memory the programs see,
// with no syscall per access.
import type { Btf } from "../btf/btf.ts";
import { type Codec, makeCodec } from "../btf/codec.ts";
import { TsbpfError } from "../errors.ts";
import type { MapSpec } from "../spec.ts";
import { MAP_SHARED, mmap, munmap, PAGE_SIZE, PROT_READ, PROT_WRITE, view } from "../sys/mm.ts";
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG } from "../uapi.ts";
import { BpfMap, type MapCreateOptions } from "./map.ts";

/** A global variable that does not exist, does not fit, or is read-only. */
export class GlobalDataError extends TsbpfError {}

/** Node's util.inspect.custom, by its registered name (no node:util import needed). */
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** A value for a global variable (LoadOptions.rodata): scalars, strings for char arrays, raw bytes. */
export type GlobalValue = number | bigint | boolean | string | Uint8Array;

interface VarLayout {
  name: string;
  offset: number;
  size: number;
  codec: Codec | undefined;
}

// setRodata and GlobalData.create both need the layout of the same section with the
// same parsed BTF (src/loader/collection.ts calls one then the other); building the
// codecs twice showed in a warm `tsbpf trace` start. Keyed on the
// spec's globalData object (kept when setRodata swaps its contents) and the Btf.
const layoutCache = new WeakMap<object, { btf: Btf; vars: Map<string, VarLayout> }>();

/** The VARs of a global-data map's DATASEC: name → offset, size, codec. */
export function datasecVars(spec: MapSpec, btf: Btf | undefined): Map<string, VarLayout> {
  const gd = spec.globalData;
  if (!gd || !btf || !gd.datasecId) return new Map();
  const hit = layoutCache.get(gd);
  if (hit && hit.btf === btf) return hit.vars;
  const out = new Map<string, VarLayout>();
  const sec = btf.type(gd.datasecId);
  if (sec.kind !== "datasec") {
    throw new GlobalDataError(
      `map '${spec.name}': BTF type #${gd.datasecId} is a ${sec.kind}, expected the section's DATASEC`,
    );
  }
  for (const vi of sec.vars) {
    const v = btf.type(vi.type);
    if (v.kind !== "var") continue;
    let codec: Codec | undefined;
    try {
      codec = makeCodec(btf, v.type, { root: v.name });
    } catch {
      codec = undefined; // e.g. a function pointer table: raw bytes only
    }
    out.set(v.name, { name: v.name, offset: vi.offset, size: vi.size, codec });
  }
  layoutCache.set(gd, { btf, vars: out });
  return out;
}

function encodeVar(spec: MapSpec, v: VarLayout, value: GlobalValue, into: Uint8Array): void {
  if (value instanceof Uint8Array && (!v.codec || value.byteLength === v.size)) {
    if (value.byteLength !== v.size) {
      throw new GlobalDataError(
        `${spec.name} variable '${v.name}': ${value.byteLength} bytes given, expected ${v.size}`,
      );
    }
    into.set(value, v.offset);
    return;
  }
  if (!v.codec)
    throw new GlobalDataError(
      `${spec.name} variable '${v.name}': its type has no value layout; give ${v.size} raw bytes`,
    );
  let bytes: Uint8Array;
  try {
    bytes = v.codec.encode(value);
  } catch (e) {
    throw new GlobalDataError(`${spec.name} variable ${(e as Error).message}`);
  }
  into.set(bytes, v.offset);
}

function unknownVar(spec: MapSpec, name: string, vars: Map<string, VarLayout>): GlobalDataError {
  const known = [...vars.keys()].join(", ") || "none";
  return new GlobalDataError(
    `${spec.name}: no variable '${name}' in ${spec.globalData?.section ?? "the section"} (variables: ${known})`,
  );
}

/**
 * Set initial values of read-only globals (`const volatile` in .rodata) before load:
 * edits spec.globalData.contents (copied first, so the ELF bytes are not touched).
 */
export function setRodata(spec: MapSpec, btf: Btf, values: Record<string, GlobalValue>): void {
  const gd = spec.globalData;
  if (!gd) throw new GlobalDataError(`map '${spec.name}' is not a global-data map`);
  const vars = datasecVars(spec, btf);
  const contents = gd.contents.slice();
  for (const [name, value] of Object.entries(values)) {
    const v = vars.get(name);
    if (!v) throw unknownVar(spec, name, vars);
    encodeVar(spec, v, value, contents);
  }
  gd.contents = contents;
}

/** A created global-data map, with typed variables over its mmap'd memory. */
export class GlobalData {
  readonly map: BpfMap;
  readonly spec: MapSpec;
  /** Raw view of the section's bytes (mmap'd); undefined if the map is not mmapable. Invalid after close(). */
  readonly view: DataView | undefined;
  /** One property per variable: getters decode from memory, setters encode into it. */
  readonly vars: Record<string, unknown>;
  private addr: bigint | undefined;
  private mapLen = 0;
  private closed = false;

  private constructor(map: BpfMap, spec: MapSpec, btf: Btf | undefined, writable: boolean) {
    this.map = map;
    this.spec = spec;
    const size = spec.valueSize;
    if (spec.flags & BPF_F_MMAPABLE && size > 0) {
      this.mapLen = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
      this.addr = mmap(
        this.mapLen,
        writable ? PROT_READ | PROT_WRITE : PROT_READ,
        MAP_SHARED,
        map.fd,
        0,
        `map '${spec.name}'`,
      );
      this.view = new DataView(view(this.addr, size));
    }
    this.vars = this.defineVars(datasecVars(spec, btf), writable);
  }

  /** Create, fill (and for .rodata freeze) the map for a global-data MapSpec. */
  static create(spec: MapSpec, btf: Btf | undefined, opts: MapCreateOptions = {}): GlobalData {
    const gd = spec.globalData;
    if (!gd) throw new GlobalDataError(`map '${spec.name}' is not a global-data map (no globalData)`);
    if (gd.contents.byteLength !== spec.valueSize) {
      throw new GlobalDataError(
        `map '${spec.name}': contents are ${gd.contents.byteLength} bytes, value_size is ${spec.valueSize}`,
      );
    }
    const flags = spec.flags | (gd.readonly ? BPF_F_RDONLY_PROG : 0);
    // Only whole-section maps with BTF (.rodata/.data/.bss) are mmapable; merged-string sections stay plain.
    const real: MapSpec = { ...spec, flags, maxEntries: 1, keySize: 4 };
    const map = BpfMap.create(real, { ...opts, btf: undefined });
    try {
      if (spec.valueSize > 0) map.update(0, gd.contents);
      if (gd.readonly) map.freeze();
      return new GlobalData(map, real, btf, !gd.readonly);
    } catch (e) {
      map.close();
      throw e;
    }
  }

  get fd(): number {
    return this.map.fd;
  }

  private defineVars(vars: Map<string, VarLayout>, writable: boolean): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    for (const v of vars.values()) {
      const codec = v.codec;
      Object.defineProperty(obj, v.name, {
        enumerable: true,
        get: () => {
          const dv = this.liveView();
          return codec
            ? codec.decode(dv, v.offset)
            : new Uint8Array(dv.buffer.slice(v.offset, v.offset + v.size));
        },
        set: (value: GlobalValue) => {
          if (!writable)
            throw new GlobalDataError(
              `${this.spec.name} variable '${v.name}' is read-only (frozen); use setRodata before load`,
            );
          const dv = this.liveView();
          const tmp = new Uint8Array(this.spec.valueSize);
          encodeVar(this.spec, v, value, tmp);
          new Uint8Array(dv.buffer, v.offset, v.size).set(tmp.subarray(v.offset, v.offset + v.size));
        },
      });
    }
    // console.log / util.inspect would show each variable as [Getter/Setter]: show the
    // values instead (read at the time of printing). Non-enumerable, so Object.keys and
    // JSON.stringify still see the variables only.
    Object.defineProperty(obj, INSPECT, {
      value: () => {
        const snapshot: Record<string, unknown> = {};
        for (const name of vars.keys()) snapshot[name] = obj[name];
        return snapshot;
      },
    });
    return Object.seal(obj);
  }

  private liveView(): DataView {
    if (this.closed) throw new GlobalDataError(`map '${this.spec.name}' is closed`);
    if (!this.view)
      throw new GlobalDataError(
        `map '${this.spec.name}' is not mmapable (BPF_F_MMAPABLE unset): use map.lookup(0)`,
      );
    return this.view;
  }

  /** Unmaps the section and closes the map's fd. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.addr !== undefined) munmap(this.addr, this.mapLen);
    this.map.close();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}
