// A plain, JSON-ready description of a CollectionSpec (or a raw BTF blob) for
// `tsbpf inspect`. Pure: no I/O. Keys are snake_case because this is the --json
// output users script against; the text renderer lives in describe-text.ts.
import type { Btf } from "../btf/btf.ts";
import { BPF_CORE_KIND_NAMES } from "../btf/ext.ts";
import { formatAccess, formatType } from "../btf/format.ts";
import { BTF_KIND_NAMES } from "../btf/types.ts";
import { TsbpfError } from "../errors.ts";
import type { CollectionSpec, FunctionSpec, MapSpec, RelocationSpec } from "../spec.ts";
import { BPF_PROG_TYPE_NAMES } from "../uapi.ts";

export interface ProgramDesc {
  name: string;
  section: string;
  type: string;
  prog_type: number;
  expected_attach_type: number;
  attach: string;
  attach_to: string;
  sleepable: boolean;
  /** 8-byte instruction slots. */
  insns: number;
}
export interface FunctionDesc {
  name: string;
  section: string;
  offset: number;
  insns: number;
  global: boolean;
  program: boolean;
}
export interface MapDesc {
  name: string;
  type: string;
  key_size: number;
  value_size: number;
  max_entries: number;
  flags: number;
  pinning: string;
  section?: string;
  inner?: MapDesc;
  initial_slots?: { index: number; name: string }[];
}
export interface GlobalDesc {
  map: string;
  section: string;
  name: string;
  type: string;
  offset: number;
  size: number;
}
export interface RelocDesc {
  function: string;
  insn: number;
  kind: string;
  symbol: string;
  /** Map name, callee name or extern name. */
  target: string;
  offset?: number;
}
export interface CoreDesc {
  program: string;
  insn: number;
  kind: string;
  type: string;
  access: string;
}
export interface BtfDesc {
  /** Type count without void (ids 1..length-1). */
  types: number;
  kinds: Record<string, number>;
}
export interface ObjectDesc {
  file: string;
  license: string;
  kernel_version: number;
  programs: ProgramDesc[];
  functions: FunctionDesc[];
  maps: MapDesc[];
  globals: GlobalDesc[];
  relocations: RelocDesc[];
  core_relocations: CoreDesc[];
  externs: { name: string; kind: string; offset: number; size: number; weak: boolean }[];
  btf: BtfDesc | null;
  btf_ext: { func_info: number; line_info: number; core_relos: number } | null;
}

export function describeBtf(btf: Btf): BtfDesc {
  const kinds: Record<string, number> = {};
  for (let id = 1; id < btf.length; id++) {
    const k = btf.kind(id);
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  const ordered: Record<string, number> = {};
  for (const k of BTF_KIND_NAMES) if (kinds[k]) ordered[k] = kinds[k];
  return { types: btf.length - 1, kinds: ordered };
}

function describeMap(m: MapSpec): MapDesc {
  const d: MapDesc = {
    name: m.name,
    type: m.typeName,
    key_size: m.keySize,
    value_size: m.valueSize,
    max_entries: m.maxEntries,
    flags: m.flags,
    pinning: m.pinning,
  };
  if (m.globalData) d.section = m.globalData.section;
  if (m.inner) d.inner = describeMap(m.inner);
  if (m.initialSlots) d.initial_slots = m.initialSlots;
  return d;
}

/** The function (by key) a call/func relocation names, for display. */
function relocTarget(c: CollectionSpec, r: RelocationSpec): string {
  switch (r.kind) {
    case "map":
    case "data":
      return r.map;
    case "call":
    case "func":
      return c.functions.get(r.target)?.name ?? r.target;
    case "extern":
      return r.name;
  }
}

/** Formats a CO-RE record, falling back to raw ids when the BTF cannot render it. */
export function coreText(
  btf: Btf | undefined,
  typeId: number,
  accessStr: string,
): { type: string; access: string } {
  if (!btf) return { type: `#${typeId}`, access: accessStr };
  let type = `#${typeId}`;
  let access = accessStr;
  try {
    type = formatType(btf, typeId);
    access = formatAccess(btf, typeId, accessStr);
  } catch (e) {
    // A malformed record keeps its raw ids, so inspect still shows everything else.
    if (!(e instanceof TsbpfError)) throw e;
  }
  return { type, access };
}

function sortedFunctions(c: CollectionSpec): FunctionSpec[] {
  return [...c.functions.values()].sort((a, b) =>
    a.section === b.section ? a.offset - b.offset : a.section < b.section ? -1 : 1,
  );
}

export function describeCollection(c: CollectionSpec): ObjectDesc {
  const programKeys = new Set(c.programs.map((p) => p.key));
  const funcs = sortedFunctions(c);
  const relocations: RelocDesc[] = [];
  const core: CoreDesc[] = [];
  for (const f of funcs) {
    for (const r of f.relocations) {
      const d: RelocDesc = {
        function: f.name,
        insn: r.insn,
        kind: r.kind,
        symbol: r.symbol,
        target: relocTarget(c, r),
      };
      if (r.kind === "data") d.offset = r.offset;
      relocations.push(d);
    }
    for (const r of f.coreRelos) {
      core.push({
        program: f.name,
        insn: r.insn,
        kind: BPF_CORE_KIND_NAMES[r.kind] ?? `kind_${r.kind}`,
        ...coreText(c.btf, r.typeId, r.accessStr),
      });
    }
  }
  const globals: GlobalDesc[] = [];
  const btf = c.btf;
  for (const m of c.maps) {
    const g = m.globalData;
    if (!g || !btf || g.datasecId === 0) continue;
    const ds = btf.type(g.datasecId);
    if (ds.kind !== "datasec") continue;
    for (const vi of ds.vars) {
      const v = btf.type(vi.type);
      const typeId = v.kind === "var" ? v.type : vi.type;
      globals.push({
        map: m.name,
        section: g.section,
        name: btf.nameOf(vi.type),
        type: safeType(btf, typeId),
        offset: vi.offset,
        size: vi.size,
      });
    }
  }
  let extCounts: ObjectDesc["btf_ext"] = null;
  if (c.btfExt) {
    const count = (m: Map<string, unknown[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
    extCounts = {
      func_info: count(c.btfExt.funcInfo),
      line_info: count(c.btfExt.lineInfo),
      core_relos: count(c.btfExt.coreRelos),
    };
  }
  return {
    file: c.path,
    license: c.license,
    kernel_version: c.kernelVersion,
    programs: c.programs.map((p) => ({
      name: p.name,
      section: p.section,
      type: p.typeName === "unspec" ? (BPF_PROG_TYPE_NAMES[p.progType] ?? "unspec") : p.typeName,
      prog_type: p.progType,
      expected_attach_type: p.expectedAttachType,
      attach: p.attach,
      attach_to: p.attachTo,
      sleepable: p.sleepable,
      insns: p.insns.length / 8,
    })),
    functions: funcs.map((f) => ({
      name: f.name,
      section: f.section,
      offset: f.offset,
      insns: f.insns.length / 8,
      global: f.global,
      program: programKeys.has(f.key),
    })),
    maps: c.maps.map(describeMap),
    globals,
    relocations,
    core_relocations: core,
    externs: c.externs.map((e) => ({
      name: e.name,
      kind: e.kind,
      offset: e.offset,
      size: e.size,
      weak: e.weak,
    })),
    btf: c.btf ? describeBtf(c.btf) : null,
    btf_ext: extCounts,
  };
}

function safeType(btf: Btf, id: number): string {
  try {
    return formatType(btf, id);
  } catch (e) {
    if (!(e instanceof TsbpfError)) throw e;
    return `#${id}`;
  }
}
