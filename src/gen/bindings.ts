// `tsbpf gen`: typed TypeScript bindings for one BPF object, as bpf2go writes Go and
// `bpftool gen skeleton` writes C. From the object's ELF and BTF it writes one module:
// - a TypeScript type, a decoder and a size for every struct and union the object
//   declares (ring-buffer records, map keys and values, globals), and a constant
//   object per named enum;
// - the object's programs (with their attach kinds), maps (with key and value types)
//   and global variables (per section) as the shape of a typed Collection;
// - load<Name>(): loads the object (embedded in the module, or given) and returns that
//   Collection, so `objs.programs.on_exce` is a type error, not a crash at run time.
// Types the object only uses through CO-RE (kernel structs such as task_struct, whose
// layout is the running kernel's, not the object's) get no decoder.
// Pure: spec and bytes in, source text out.
import type { Btf } from "../btf/btf.ts";
import { makeCodec } from "../btf/codec.ts";
import type { BtfComposite, BtfEnum, BtfEnum64 } from "../btf/types.ts";
import type { CollectionSpec, MapSpec } from "../spec.ts";
import { BPF_MAP_TYPE } from "../uapi.ts";
import { pascal, propertyKey } from "./names.ts";
import { GenError, helperSource, TypeWriter } from "./ts-types.ts";

export { GenError };

export interface GenOptions {
  /**
   * Base of the generated names: "globals" gives loadGlobals(), GlobalsObjects, ...
   * Default: the object's file name up to its first dot.
   */
  name?: string;
  /** Module the bindings import tsbpf from (default "tsbpf"). */
  importFrom?: string;
  /**
   * "embed" (default): the object's bytes are in the module, load…() needs no file;
   * "argument": load…() takes the object (path, bytes or spec) as its first argument;
   * "types": only the types, decoders and enums, no loader and no import of tsbpf.
   */
  mode?: "embed" | "argument" | "types";
}

const PER_CPU = new Set<number>([
  BPF_MAP_TYPE.PERCPU_HASH,
  BPF_MAP_TYPE.PERCPU_ARRAY,
  BPF_MAP_TYPE.LRU_PERCPU_HASH,
  BPF_MAP_TYPE.PERCPU_CGROUP_STORAGE,
]);

/** Base name of an object path: "dir/process.bpf.o" → "process". */
export function objectBaseName(path: string): string {
  const file = path.split("/").pop() ?? path;
  return file.split(".")[0] || "object";
}

/**
 * Composite/enum ids reachable from `roots` through members, arrays, typedefs and
 * pointers: the kernel types a CO-RE program walks (task_struct → cred → ...).
 */
function closure(btf: Btf, roots: Iterable<number>): Set<number> {
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = btf.resolve(stack.pop() as number);
    if (seen.has(id)) continue;
    const t = btf.type(id);
    if (t.kind === "struct" || t.kind === "union") {
      seen.add(id);
      for (const m of t.members) stack.push(m.type);
    } else if (t.kind === "array" || t.kind === "ptr") stack.push(t.type);
    else if (t.kind === "enum" || t.kind === "enum64") seen.add(id);
  }
  return seen;
}

/** Root type ids of the object's CO-RE relocations: types whose layout is the kernel's. */
function coreRoots(spec: CollectionSpec): number[] {
  const out: number[] = [];
  for (const f of spec.functions.values()) for (const r of f.coreRelos) out.push(r.typeId);
  return out;
}

interface Declared {
  composites: { id: number; name: string; t: BtfComposite }[];
  enums: { id: number; name: string; t: BtfEnum | BtfEnum64 }[];
  names: Map<number, string>;
}

/** The named structs, unions and enums the module declares, with unique TypeScript names. */
function declared(btf: Btf, spec: CollectionSpec): Declared {
  const kernel = closure(btf, coreRoots(spec));
  const taken = new Set<string>();
  const unique = (base: string) => {
    let n = base;
    for (let i = 2; taken.has(n); i++) n = `${base}${i}`;
    taken.add(n);
    return n;
  };
  const out: Declared = { composites: [], enums: [], names: new Map() };
  for (let id = 1; id < btf.length; id++) {
    const t = btf.type(id);
    if (t.name === "" || kernel.has(id)) continue;
    if (t.kind === "struct" || t.kind === "union") {
      const name = unique(pascal(t.name));
      out.composites.push({ id, name, t });
      out.names.set(id, name);
    } else if (t.kind === "enum" || t.kind === "enum64") {
      if (t.values.length === 0) continue;
      out.enums.push({ id, name: unique(pascal(t.name)), t });
    }
  }
  return out;
}

function enumSource(e: Declared["enums"][number]): string[] {
  const big = e.t.kind === "enum64" || e.t.size > 4;
  const lines = [`/** enum ${e.t.name} */`, `export const ${e.name} = {`];
  for (const v of e.t.values)
    lines.push(`  ${propertyKey(v.name)}: ${big ? `${BigInt(v.value)}n` : v.value},`);
  lines.push("} as const;");
  lines.push(`export type ${e.name} = (typeof ${e.name})[keyof typeof ${e.name}];`);
  return lines;
}

function compositeSource(w: TypeWriter, c: Declared["composites"][number]): string[] {
  const kw = c.t.kind;
  return [
    `/** ${kw} ${c.t.name} (${c.t.size} bytes) */`,
    `export interface ${c.name} {`,
    ...w.members(c.t).map((m) => `  ${m}`),
    "}",
    `/** Decodes a ${kw} ${c.t.name} from \`v\` at byte offset \`o\` (a ring-buffer record, a map value, ...). */`,
    `export function decode${c.name}(v: DataView, o = 0): ${c.name} {`,
    `  if (o + ${c.t.size} > v.byteLength) throw new RangeError(\`${kw} ${c.t.name} needs ${c.t.size} bytes at offset \${o}, the view has \${v.byteLength}\`);`,
    "  return {",
    ...w.objectLines(c.t, "o").map((l) => `    ${l},`),
    "  };",
    "}",
  ];
}

/** TypeScript type of a map's keys or values (BTF type id 0: raw bytes). */
function mapSide(w: TypeWriter, id: number): string {
  if (!id) return "Uint8Array";
  try {
    return w.tsType(id);
  } catch {
    return "Uint8Array";
  }
}

function mapType(w: TypeWriter, m: MapSpec): string {
  if (m.globalData) return "tsbpf.BpfMap<number, Uint8Array>";
  if (m.type === BPF_MAP_TYPE.RINGBUF || m.type === BPF_MAP_TYPE.USER_RINGBUF)
    return "tsbpf.BpfMap<never, never>";
  const k = mapSide(w, m.btfKeyTypeId);
  let v = mapSide(w, m.btfValueTypeId);
  if (PER_CPU.has(m.type)) v = `${/^[\w.]+$/.test(v) ? v : `(${v})`}[]`;
  return `tsbpf.BpfMap<${k}, ${v}>`;
}

/** Per global-data section: `name: type` of each variable (raw bytes where there is no layout). */
function sectionVars(btf: Btf, w: TypeWriter, m: MapSpec): { name: string; type: string }[] {
  const gd = m.globalData;
  if (!gd?.datasecId) return [];
  const sec = btf.type(gd.datasecId);
  if (sec.kind !== "datasec") return [];
  const out: { name: string; type: string }[] = [];
  for (const vi of sec.vars) {
    const v = btf.type(vi.type);
    if (v.kind !== "var") continue;
    let type = "Uint8Array";
    try {
      makeCodec(btf, v.type); // the runtime decodes exactly what it can build a codec for
      type = w.tsType(v.type);
    } catch {
      // a variable without a value layout reads as its raw bytes, as GlobalData does
    }
    out.push({ name: v.name, type });
  }
  return out;
}

function base64Lines(bytes: Uint8Array): string[] {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += 100) out.push(`  "${b64.slice(i, i + 100)}",`);
  return out;
}

/** The bindings module for one object, as TypeScript source. */
export function generateBindings(spec: CollectionSpec, bytes: Uint8Array, opts: GenOptions = {}): string {
  const btf = spec.btf;
  if (!btf)
    throw new GenError(
      `${spec.path}: the object has no BTF (.BTF section); compile it with clang -g to generate bindings`,
    );
  const mode = opts.mode ?? "embed";
  const base = pascal(opts.name ?? objectBaseName(spec.path));
  const file = spec.path.split("/").pop() ?? spec.path;
  const d = declared(btf, spec);
  const w = new TypeWriter(btf, d.names);

  const body: string[] = [];
  for (const e of d.enums) body.push(...enumSource(e), "");
  for (const c of d.composites) {
    try {
      const src = compositeSource(w, c);
      body.push(...src, "");
    } catch (e) {
      body.push(`// ${c.t.kind} ${c.t.name}: no decoder (${(e as Error).message})`, "");
      d.names.delete(c.id);
    }
  }
  body.push(
    "/** Size in bytes of each struct and union above, by C name. */",
    "export const SIZEOF = {",
    ...d.composites.filter((c) => d.names.has(c.id)).map((c) => `  ${propertyKey(c.t.name)}: ${c.t.size},`),
    "} as const;",
    "",
  );

  const out = [
    `// Code generated by \`tsbpf gen\` from ${file}. DO NOT EDIT.`,
    `// Regenerate it after rebuilding the object: tsbpf gen ${file} -o <this file>.`,
    "",
  ];
  if (mode !== "types") {
    out.push(`import * as tsbpf from ${JSON.stringify(opts.importFrom ?? "tsbpf")};`, "");
  }
  out.push(...body);
  const helpers = helperSource(w.used);
  if (helpers.length) out.push(...helpers, "");
  if (mode === "types") return `${out.join("\n").trimEnd()}\n`;

  // Programs, maps and globals: the shape of the loaded Collection.
  out.push(`/** The programs of ${file}, by C function name, with their attach kinds. */`);
  out.push(`export type ${base}Programs = {`);
  for (const p of spec.programs)
    out.push(`  ${propertyKey(p.name)}: tsbpf.Program<${JSON.stringify(p.attach)}>;`);
  out.push("};", "");

  out.push(`/** The maps of ${file}, by C name; global-data maps also by section ("bss", "rodata", ...). */`);
  out.push(`export type ${base}Maps = {`);
  const mapKeys = new Set<string>();
  for (const m of spec.maps) {
    out.push(`  ${propertyKey(m.name)}: ${mapType(w, m)};`);
    mapKeys.add(m.name);
  }
  for (const m of spec.maps) {
    const key = m.globalData?.section.replace(/^\./, "");
    if (key && !mapKeys.has(key)) {
      out.push(`  ${propertyKey(key)}: ${mapType(w, m)};`);
      mapKeys.add(key);
    }
  }
  out.push("};", "");

  const sections = spec.maps.filter((m) => m.globalData);
  let rodata: { name: string; type: string }[] = [];
  for (const m of sections) {
    const section = m.globalData?.section ?? "";
    const vars = sectionVars(btf, w, m);
    if (section === ".rodata") rodata = vars;
    const ro = m.globalData?.readonly === true;
    out.push(
      `/** Global variables in ${section}${ro ? " (frozen at load: set them with the rodata load option)" : ", read and written in place"}. */`,
    );
    if (vars.length === 0) {
      out.push(`export type ${base}${pascal(section)} = Record<string, never>;`, "");
      continue;
    }
    out.push(`export type ${base}${pascal(section)} = {`);
    for (const v of vars) out.push(`  ${ro ? "readonly " : ""}${propertyKey(v.name)}: ${v.type};`);
    out.push("};", "");
  }
  out.push(`/** The global variables of ${file}, by section ("bss", "data", "rodata", ...). */`);
  out.push(`export type ${base}Globals = {`);
  for (const m of sections) {
    const section = m.globalData?.section ?? "";
    out.push(`  ${propertyKey(section.replace(/^\./, ""))}: ${base}${pascal(section)};`);
  }
  out.push("};", "");

  out.push(
    `/** What load${base}() returns: the collection of ${file}, typed. */`,
    `export interface ${base}Shape extends tsbpf.CollectionShape {`,
    `  programs: ${base}Programs;`,
    `  maps: ${base}Maps;`,
    `  globals: ${base}Globals;`,
    "}",
    `export type ${base}Objects = tsbpf.Collection<${base}Shape>;`,
    "",
    `/** Options of load${base}(): tsbpf's LoadOptions, with \`rodata\` typed by the object's .rodata variables. */`,
    `export interface ${base}LoadOptions extends Omit<tsbpf.LoadOptions, "rodata"> {`,
    `  rodata?: {`,
    ...rodata.map((v) => `    ${propertyKey(v.name)}?: ${v.type};`),
    "  };",
    "}",
    "",
  );

  if (mode === "embed") {
    out.push(
      `/** ${file} itself (${bytes.byteLength} bytes), base64. */`,
      "const OBJECT = [",
      ...base64Lines(bytes),
      '].join("");',
      "",
      `/** The bytes of ${file}, as embedded in this module. */`,
      `export function ${lowerFirst(base)}Object(): Uint8Array {`,
      "  const s = atob(OBJECT);",
      "  const b = new Uint8Array(s.length);",
      "  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);",
      "  return b;",
      "}",
      "",
      `/**`,
      ` * Loads ${file} (the copy embedded here, or \`object\`): creates its maps, relocates and`,
      " * loads its programs. Attach them with `objs.programs.<name>.attach()`; close the",
      " * collection (or `using objs = ...`) to detach and free everything.",
      " */",
      `export async function load${base}(`,
      `  opts: ${base}LoadOptions = {},`,
      `  object: tsbpf.Source = ${lowerFirst(base)}Object(),`,
      `): Promise<${base}Objects> {`,
      `  const coll = await tsbpf.loadCollection(object, opts as tsbpf.LoadOptions);`,
      `  return coll as unknown as ${base}Objects;`,
      "}",
    );
  } else {
    out.push(
      `/**`,
      ` * Loads \`object\` (${file}, or an object with the same programs, maps and globals):`,
      " * creates its maps, relocates and loads its programs. Attach them with",
      " * `objs.programs.<name>.attach()`; close the collection to detach and free everything.",
      " */",
      `export async function load${base}(object: tsbpf.Source, opts: ${base}LoadOptions = {}): Promise<${base}Objects> {`,
      `  const coll = await tsbpf.loadCollection(object, opts as tsbpf.LoadOptions);`,
      `  return coll as unknown as ${base}Objects;`,
      "}",
    );
  }
  return `${out.join("\n")}\n`;
}

function lowerFirst(s: string): string {
  return s.slice(0, 1).toLowerCase() + s.slice(1);
}
