// Map definitions from an object: BTF-defined maps in `.maps` and the global-data
// maps libbpf creates for .data*/.rodata*/.bss* (and .kconfig). The rules follow
// libbpf's parse_btf_map_def() and bpf_object__init_internal_map(); the code is ours.
import type { Btf } from "../btf/btf.ts";
import type { BtfDatasec } from "../btf/types.ts";
import type { MapSpec, PinningType } from "../spec.ts";
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE, BPF_MAP_TYPE_NAMES } from "../uapi.ts";
import { type ElfFile, type ElfSection, SHT_NOBITS, SHT_PROGBITS } from "./elf.ts";
import { ElfError } from "./errors.ts";

/** BPF_OBJ_NAME_LEN: kernel object names hold 15 characters plus NUL. */
const BPF_OBJ_NAME_LEN = 16;
/** Refuse absurd .bss sizes before allocating their zeroed contents (64 MiB). */
const MAX_GLOBAL_DATA = 64 << 20;
/** BTF_VAR_STATIC */
const BTF_VAR_STATIC = 0;

/** A BTF-defined map and where its definition lives in `.maps` (for relocations). */
export interface MapDefLocation {
  spec: MapSpec;
  offset: number;
  size: number;
  /** Byte offset of the `values` member inside the definition, for `.values = {...}` slots. */
  valuesOffset: number;
}

/** libbpf's object name: the file's base name up to its first dot ("minimal.bpf.o" → "minimal"). */
export function objectName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.indexOf(".");
  return dot < 0 ? base : base.slice(0, dot);
}

/**
 * The kernel-visible name libbpf gives an internal map (internal_map_name()): up to
 * 8 characters of the object name then the section name, 15 characters at most;
 * custom sections with a second dot (".rodata.foo") get no object-name prefix.
 * Characters the kernel refuses become '_'.
 */
export function internalMapName(objName: string, section: string): string {
  let sfx = Math.max(7, section.length);
  if (sfx >= BPF_OBJ_NAME_LEN) sfx = BPF_OBJ_NAME_LEN - 1;
  const pfx = section.indexOf(".", 1) >= 0 ? 0 : Math.min(BPF_OBJ_NAME_LEN - sfx - 1, objName.length);
  const name = (objName.slice(0, pfx) + section.slice(0, sfx)).slice(0, BPF_OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

function baseSpec(name: string, type: number): MapSpec {
  return {
    name,
    type,
    typeName: typeNameOf(type),
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    numaNode: 0,
    mapExtra: 0n,
    pinning: "none",
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
  };
}

export function typeNameOf(type: number): string {
  return BPF_MAP_TYPE_NAMES[type] ?? `type_${type}`;
}

/** The DATASEC with this name, if the BTF has one. */
export function findDatasec(btf: Btf | undefined, name: string): BtfDatasec | undefined {
  if (!btf) return undefined;
  const id = btf.findByNameKind(name, "datasec")[0];
  return id === undefined ? undefined : (btf.type(id) as BtfDatasec);
}

/** Parses every map VAR of the `.maps` DATASEC. */
export function readBtfMaps(elf: ElfFile, btf: Btf | undefined, mapsSec: ElfSection): MapDefLocation[] {
  const file = elf.name;
  if (!btf) {
    throw new ElfError(
      file,
      mapsSec.offset,
      "section '.maps' needs BTF to describe its maps, but the object has no .BTF section (compile with -g)",
    );
  }
  const ds = findDatasec(btf, ".maps");
  if (!ds)
    throw new ElfError(file, mapsSec.offset, "section '.maps' has no BTF DATASEC '.maps' describing it");
  const out: MapDefLocation[] = [];
  for (const vi of ds.vars) {
    const v = btf.type(vi.type);
    if (v.kind !== "var") {
      throw new ElfError(
        file,
        mapsSec.offset,
        `BTF DATASEC '.maps' entry #${vi.type} is a ${v.kind}, expected a VAR`,
      );
    }
    // Clang may leave DATASEC offsets zero; the symbol's st_value is authoritative (as libbpf's btf_fixup_datasec).
    const sym = elf.symbols.find((s) => s.shndx === mapsSec.index && s.name === v.name);
    const offset = sym ? sym.value : vi.offset;
    // A flexible `values` array makes the symbol (with its initialiser) larger than the BTF struct.
    const size = Math.max(btf.sizeof(v.type), sym?.size ?? 0);
    if (offset + size > mapsSec.size) {
      throw new ElfError(
        file,
        mapsSec.offset + offset,
        `map '${v.name}' at offset ${offset} (${size} bytes) extends past the end of '.maps' (${mapsSec.size} bytes)`,
      );
    }
    const { spec, valuesOffset } = parseMapDef(file, btf, v.type, v.name, 0);
    out.push({ spec, offset, size, valuesOffset });
  }
  return out;
}

/** Reads `int (*name)[N]` → N (the __uint() encoding). */
function intField(file: string, btf: Btf, typeId: number, map: string, field: string): number {
  const p = btf.type(btf.resolve(typeId));
  if (p.kind !== "ptr")
    throw new ElfError(
      file,
      undefined,
      `map '${map}': field '${field}' is a ${p.kind}, expected a pointer to an array (__uint(${field}, N))`,
    );
  const a = btf.type(btf.resolve(p.type));
  if (a.kind !== "array")
    throw new ElfError(
      file,
      undefined,
      `map '${map}': field '${field}' points to a ${a.kind}, expected an array (__uint(${field}, N))`,
    );
  return a.nelems;
}

/** Reads `T *name` → T (the __type() encoding). */
function typeField(file: string, btf: Btf, typeId: number, map: string, field: string): number {
  const p = btf.type(btf.resolve(typeId));
  if (p.kind !== "ptr")
    throw new ElfError(
      file,
      undefined,
      `map '${map}': field '${field}' is a ${p.kind}, expected a pointer (__type(${field}, T))`,
    );
  return p.type;
}

function parseMapDef(
  file: string,
  btf: Btf,
  typeId: number,
  name: string,
  depth: number,
): { spec: MapSpec; valuesOffset: number } {
  const st = btf.type(btf.resolve(typeId));
  if (st.kind !== "struct")
    throw new ElfError(file, undefined, `map '${name}': definition is a ${st.kind}, expected a struct`);
  const spec = baseSpec(name, BPF_MAP_TYPE.UNSPEC);
  let keyFromType = false;
  let valueFromType = false;
  let keySizeField = -1;
  let valueSizeField = -1;
  let valuesOffset = -1;
  let hasValues = false;
  for (const m of st.members) {
    switch (m.name) {
      case "type":
        spec.type = intField(file, btf, m.type, name, m.name);
        break;
      case "max_entries":
        spec.maxEntries = intField(file, btf, m.type, name, m.name);
        break;
      case "map_flags":
        spec.flags = intField(file, btf, m.type, name, m.name);
        break;
      case "numa_node":
        spec.numaNode = intField(file, btf, m.type, name, m.name);
        break;
      case "map_extra":
        spec.mapExtra = BigInt(intField(file, btf, m.type, name, m.name));
        break;
      case "key_size":
        keySizeField = intField(file, btf, m.type, name, m.name);
        break;
      case "value_size":
        valueSizeField = intField(file, btf, m.type, name, m.name);
        break;
      case "pinning": {
        const p = intField(file, btf, m.type, name, m.name);
        if (p !== 0 && p !== 1)
          throw new ElfError(
            file,
            undefined,
            `map '${name}': pinning is ${p}, expected 0 (LIBBPF_PIN_NONE) or 1 (LIBBPF_PIN_BY_NAME)`,
          );
        spec.pinning = (p === 1 ? "by_name" : "none") as PinningType;
        break;
      }
      case "key": {
        const t = typeField(file, btf, m.type, name, m.name);
        spec.keySize = btf.sizeof(t);
        spec.btfKeyTypeId = t;
        keyFromType = true;
        break;
      }
      case "value": {
        const t = typeField(file, btf, m.type, name, m.name);
        spec.valueSize = btf.sizeof(t);
        spec.btfValueTypeId = t;
        valueFromType = true;
        break;
      }
      case "values": {
        // __array(values, T): a flexible array of pointers to the inner definition
        // (map-in-map) or to a function prototype (prog array).
        const a = btf.type(btf.resolve(m.type));
        if (a.kind !== "array")
          throw new ElfError(
            file,
            undefined,
            `map '${name}': 'values' is a ${a.kind}, expected an array (__array(values, ...))`,
          );
        const p = btf.type(btf.resolve(a.type));
        if (p.kind !== "ptr")
          throw new ElfError(
            file,
            undefined,
            `map '${name}': 'values' elements are ${p.kind}, expected pointers`,
          );
        const target = btf.resolve(p.type);
        if (btf.kind(target) === "struct") {
          if (depth > 0)
            throw new ElfError(file, undefined, `map '${name}': an inner map cannot itself hold maps`);
          spec.inner = parseMapDef(file, btf, target, `${name}.inner`, depth + 1).spec;
        } else if (btf.kind(target) !== "func_proto") {
          throw new ElfError(
            file,
            undefined,
            `map '${name}': 'values' points to a ${btf.kind(target)}, expected a map definition struct or a function prototype`,
          );
        }
        valuesOffset = Math.floor(m.bitOffset / 8);
        hasValues = true;
        break;
      }
      default:
        throw new ElfError(file, undefined, `map '${name}': unknown field '${m.name}' in the map definition`);
    }
  }
  if (keySizeField >= 0) {
    if (keyFromType && keySizeField !== spec.keySize) {
      throw new ElfError(
        file,
        undefined,
        `map '${name}': key_size ${keySizeField} disagrees with sizeof(key) ${spec.keySize}`,
      );
    }
    spec.keySize = keySizeField;
  }
  if (valueSizeField >= 0) {
    if (valueFromType && valueSizeField !== spec.valueSize) {
      throw new ElfError(
        file,
        undefined,
        `map '${name}': value_size ${valueSizeField} disagrees with sizeof(value) ${spec.valueSize}`,
      );
    }
    spec.valueSize = valueSizeField;
  }
  if (hasValues) {
    // Slots of map-in-map and prog arrays hold u32 fds (libbpf forces value_size 4).
    if (spec.valueSize !== 0 && spec.valueSize !== 4) {
      throw new ElfError(
        file,
        undefined,
        `map '${name}': value_size ${spec.valueSize} with 'values', expected 4`,
      );
    }
    spec.valueSize = 4;
    spec.initialSlots = [];
  }
  if (spec.type === BPF_MAP_TYPE.PERF_EVENT_ARRAY) {
    // Values are perf event fds, keys CPU indexes; max_entries 0 means "one per CPU" (the loader decides).
    if (spec.keySize === 0) spec.keySize = 4;
    if (spec.valueSize === 0) spec.valueSize = 4;
  }
  spec.typeName = typeNameOf(spec.type);
  return { spec, valuesOffset };
}

/** Which global-data kind a section is (libbpf's SEC_DATA / SEC_RODATA / SEC_BSS rules), if any. */
export function dataSectionKind(s: ElfSection): "data" | "rodata" | "bss" | undefined {
  const is = (base: string) => s.name === base || s.name.startsWith(`${base}.`);
  if (s.type === SHT_PROGBITS && is(".data")) return "data";
  if (s.type === SHT_PROGBITS && is(".rodata")) return "rodata";
  if (s.type === SHT_NOBITS && is(".bss")) return "bss";
  return undefined;
}

/** One array map per non-empty .data*, .rodata*, .bss* section. */
export function readDataMaps(elf: ElfFile, btf: Btf | undefined, objName: string): Map<number, MapSpec> {
  const out = new Map<number, MapSpec>();
  for (const s of elf.sections) {
    const kind = dataSectionKind(s);
    if (!kind || s.size === 0) continue;
    if (s.size > MAX_GLOBAL_DATA) {
      throw new ElfError(
        elf.name,
        s.offset,
        `section '${s.name}' is ${s.size} bytes, more than the ${MAX_GLOBAL_DATA}-byte limit for a global-data map`,
      );
    }
    const ds = findDatasec(btf, s.name);
    const spec = baseSpec(internalMapName(objName, s.name), BPF_MAP_TYPE.ARRAY);
    spec.keySize = 4;
    spec.valueSize = s.size;
    spec.maxEntries = 1;
    spec.flags = kind === "rodata" ? BPF_F_RDONLY_PROG : 0;
    // libbpf's map_is_mmapable(): mmap-able when the DATASEC has a non-static variable.
    if (
      ds &&
      btf &&
      ds.vars.some((vi) => {
        const v = btf.type(vi.type);
        return v.kind === "var" && v.linkage !== BTF_VAR_STATIC;
      })
    ) {
      spec.flags |= BPF_F_MMAPABLE;
    }
    spec.btfValueTypeId = ds?.id ?? 0;
    spec.globalData = {
      section: s.name,
      contents: kind === "bss" ? new Uint8Array(s.size) : s.data.slice(),
      datasecId: ds?.id ?? 0,
      readonly: kind === "rodata",
    };
    out.set(s.index, spec);
  }
  return out;
}

/** The `.kconfig` map: read-only array holding every kconfig extern at its offset. */
export function kconfigMap(objName: string, btf: Btf | undefined, size: number): MapSpec {
  const ds = findDatasec(btf, ".kconfig");
  const spec = baseSpec(internalMapName(objName, ".kconfig"), BPF_MAP_TYPE.ARRAY);
  spec.keySize = 4;
  spec.valueSize = size;
  spec.maxEntries = 1;
  spec.flags = BPF_F_RDONLY_PROG | BPF_F_MMAPABLE;
  spec.btfValueTypeId = ds?.id ?? 0;
  spec.globalData = {
    section: ".kconfig",
    contents: new Uint8Array(size),
    datasecId: ds?.id ?? 0,
    readonly: true,
  };
  return spec;
}
