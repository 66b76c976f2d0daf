// Writes src/uapi.gen.ts, the bpf(2) and perf_event_open(2) UAPI constants and layouts,
// from a kernel's BTF:
//   npm run gen:uapi                       # the running kernel's /sys/kernel/btf/vmlinux
//   npm run gen:uapi -- FILE --release R   # a saved vmlinux BTF of release R
// Why BTF and not /usr/include/linux/bpf.h: Debian's linux-libc-dev lags the kernels
// we run (6.1 here against 6.18), and BTF holds the member offsets the kernel was
// compiled with, so no C layout rules are re-implemented here. What BTF lacks is the
// bpf.h #defines (BPF_F_ALLOW_MULTI, BPF_PSEUDO_*, opcodes): src/uapi.ts keeps those,
// checked against the installed header by test/sys/uapi-oracle.test.ts.
// test/sys/uapi-gen.test.ts fails when the committed file disagrees with the kernel.
import { readFileSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Btf } from "../src/btf/btf.ts";
import type { BtfComposite, BtfEnum, BtfEnum64, BtfType } from "../src/btf/types.ts";

/** Named UAPI enums of include/uapi/linux/bpf.h emitted, in this order. */
export const NAMED_ENUMS = [
  "bpf_cmd",
  "bpf_map_type",
  "bpf_prog_type",
  "bpf_attach_type",
  "bpf_link_type",
  "bpf_perf_event_type",
  "bpf_stats_type",
  "bpf_task_fd_type",
  "bpf_cgroup_iter_order",
  "bpf_core_relo_kind",
  "bpf_func_id",
  // include/uapi/linux/perf_event.h, for perf_event_open(2) and perf buffers
  "perf_type_id",
  "perf_sw_ids",
  "perf_event_sample_format",
  "perf_event_type",
] as const;

/** Anonymous bpf.h enums, found by one of their enumerators. */
export const ANONYMOUS_ENUMS = [
  "BPF_ANY", // BPF_MAP_UPDATE_ELEM flags
  "BPF_F_NO_PREALLOC", // BPF_MAP_CREATE map_flags
  "BPF_F_KPROBE_MULTI_RETURN", // link_create.kprobe_multi.flags
  "BPF_F_UPROBE_MULTI_RETURN", // link_create.uprobe_multi.flags
  "BPF_RB_NO_WAKEUP", // bpf_ringbuf_output() flags
  "BPF_RINGBUF_BUSY_BIT", // ring buffer record header
] as const;

/** UAPI structs emitted with their field offsets (besides union bpf_attr). */
export const STRUCTS = [
  "bpf_prog_info",
  "bpf_map_info",
  "bpf_btf_info",
  "bpf_link_info",
  "perf_event_attr",
  "perf_event_mmap_page",
] as const;

/**
 * union bpf_attr's anonymous members, named as bpf.h's comment on each names it
 * ("anonymous struct used by BPF_PROG_LOAD command"), told apart by their first field.
 */
const ANONYMOUS_ATTR: Record<string, string> = {
  map_type: "BPF_MAP_CREATE",
  map_fd: "BPF_MAP_*_ELEM",
  prog_type: "BPF_PROG_LOAD",
  pathname: "BPF_OBJ_*",
  target_fd: "BPF_PROG_ATTACH",
  start_id: "BPF_*_GET_*_ID",
  btf: "BPF_BTF_LOAD",
};

/** Counters that grow with each kernel (__MAX_BPF_CMD, MAX_BPF_LINK_TYPE): not ABI. */
const NOT_ABI = /^__|^MAX_|_MAX$|^NR_/;

export class GenUapiError extends Error {}

/** A field: byte offset and kind ("u32", "s32", "u64", "char[16]", "u8[8]"); bitfields add bit and width. */
export type GenField = readonly [offset: number, kind: string] | readonly [number, string, number, number];

function isEnum(t: BtfType): t is BtfEnum | BtfEnum64 {
  return t.kind === "enum" || t.kind === "enum64";
}

function enumValues(t: BtfEnum | BtfEnum64): [string, number][] {
  return t.values
    .filter((v) => !NOT_ABI.test(v.name))
    .map((v) => {
      const n = Number(v.value);
      if (!Number.isSafeInteger(n)) throw new GenUapiError(`${v.name} = ${v.value} is not a safe integer`);
      return [v.name, n];
    });
}

function namedEnum(btf: Btf, name: string): BtfEnum | BtfEnum64 {
  for (const kind of ["enum", "enum64"] as const) {
    const id = btf.findByNameKind(name, kind)[0];
    if (id !== undefined) return btf.type(id) as BtfEnum | BtfEnum64;
  }
  throw new GenUapiError(`no enum ${name} in ${btf.name}`);
}

function anonymousEnum(btf: Btf, member: string): BtfEnum | BtfEnum64 {
  for (let id = 1; id < btf.length; id++) {
    const k = btf.kind(id);
    if (k !== "enum" && k !== "enum64") continue;
    const t = btf.type(id);
    if (isEnum(t) && t.name === "" && t.values.some((v) => v.name === member)) return t;
  }
  throw new GenUapiError(`no anonymous enum with ${member} in ${btf.name}`);
}

/** The kind string of a (non-composite) member type. */
function kindOf(btf: Btf, typeId: number): string {
  const t = btf.type(btf.resolve(typeId));
  switch (t.kind) {
    case "int":
      // The kernel builds with -funsigned-char: its `char` is an unsigned 1-byte int.
      if (t.char || t.name === "char") return "char";
      return `${t.signed ? "s" : "u"}${t.size * 8}`;
    case "enum":
    case "enum64":
      return `${t.signed ? "s" : "u"}${t.size * 8}`;
    case "array": {
      const el = kindOf(btf, t.type);
      return `${el === "char" ? "char" : el}[${t.nelems}]`;
    }
    default:
      throw new GenUapiError(`member type [${t.id}] ${t.kind} ${t.name}: no field kind for it`);
  }
}

function isComposite(btf: Btf, typeId: number): BtfComposite | undefined {
  const t = btf.type(btf.resolve(typeId));
  return t.kind === "struct" || t.kind === "union" ? t : undefined;
}

/**
 * Fields of a struct, flattened: members of anonymous structs/unions keep their own
 * names (as C lets a caller write attr.target_btf_id), members of named ones are
 * `outer.inner` (attr.link_create.tracing.cookie is `tracing.cookie` in link_create).
 */
function flatten(btf: Btf, t: BtfComposite, base: number, prefix: string, out: Map<string, GenField>): void {
  for (const m of t.members) {
    const inner = isComposite(btf, m.type);
    if (inner) {
      if (m.bitOffset % 8 !== 0) throw new GenUapiError(`${t.name}.${m.name}: unaligned composite`);
      flatten(btf, inner, base + m.bitOffset / 8, m.name ? `${prefix}${m.name}.` : prefix, out);
      continue;
    }
    // Reserved padding (__reserved_1) is not ABI: its shape changes when a field is carved out.
    if (NOT_ABI.test(m.name)) continue;
    const name = `${prefix}${m.name}`;
    if (out.has(name)) throw new GenUapiError(`${t.name || "(anon)"}: two fields named ${name}`);
    const kind = kindOf(btf, m.type);
    if (m.bitfieldSize > 0) {
      const size = Number(kind.slice(1)) / 8;
      const word = Math.floor(m.bitOffset / (size * 8)) * size;
      out.set(name, [base + word, kind, m.bitOffset - word * 8, m.bitfieldSize]);
    } else {
      if (m.bitOffset % 8 !== 0) throw new GenUapiError(`${name}: not at a byte offset`);
      out.set(name, [base + m.bitOffset / 8, kind]);
    }
  }
}

function struct(btf: Btf, name: string, kind: "struct" | "union"): BtfComposite {
  const id = btf.findByNameKind(name, kind)[0];
  if (id === undefined) throw new GenUapiError(`no ${kind} ${name} in ${btf.name}`);
  return btf.type(id) as BtfComposite;
}

/** union bpf_attr, one flattened layout per member (anonymous ones named by ANONYMOUS_ATTR). */
export function attrGroups(btf: Btf): Map<string, Map<string, GenField>> {
  const attr = struct(btf, "bpf_attr", "union");
  const groups = new Map<string, Map<string, GenField>>();
  for (const m of attr.members) {
    const t = isComposite(btf, m.type);
    if (!t) throw new GenUapiError(`bpf_attr.${m.name}: not a struct`);
    const fields = new Map<string, GenField>();
    flatten(btf, t, m.bitOffset / 8, "", fields);
    let key = m.name;
    if (!key) {
      const first = fields.keys().next().value as string;
      key = ANONYMOUS_ATTR[first] ?? "";
      if (!key)
        throw new GenUapiError(
          `bpf_attr: an anonymous member starting with ${first} is new: name it in scripts/gen-uapi.ts ANONYMOUS_ATTR`,
        );
    }
    groups.set(key, fields);
  }
  return groups;
}

/** All emitted values of `btf`, for the generator and the currency test. */
export interface UapiModel {
  enums: { name: string; values: [string, number][] }[];
  structs: { name: string; size: number; groups?: Map<string, Map<string, GenField>>; fields?: Map<string, GenField> }[];
}

/**
 * Everything emitted, from `btf`. `partial` (comparing with an older kernel) skips the
 * enums and structs that kernel does not have yet instead of failing.
 */
export function uapiModel(btf: Btf, opts: { partial?: boolean } = {}): UapiModel {
  const maybe = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (opts.partial && e instanceof GenUapiError) return undefined;
      throw e;
    }
  };
  const enums: UapiModel["enums"] = [];
  for (const n of NAMED_ENUMS) {
    const t = maybe(() => namedEnum(btf, n));
    if (t) enums.push({ name: n, values: enumValues(t) });
  }
  for (const m of ANONYMOUS_ENUMS) {
    const t = maybe(() => anonymousEnum(btf, m));
    if (t) enums.push({ name: "", values: enumValues(t) });
  }
  const structs: UapiModel["structs"] = [
    { name: "bpf_attr", size: struct(btf, "bpf_attr", "union").size, groups: attrGroups(btf) },
  ];
  for (const n of STRUCTS) {
    const t = maybe(() => struct(btf, n, "struct"));
    if (!t) continue;
    const fields = new Map<string, GenField>();
    flatten(btf, t, 0, "", fields);
    structs.push({ name: n, size: t.size, fields });
  }
  return { enums, structs };
}

/** Names, comma-separated, in lines of at most 100 columns. */
function wrap(names: string[]): string[] {
  const lines: string[] = [];
  let line = "";
  for (const n of names) {
    if (line && line.length + n.length + 2 > 100) {
      lines.push(line);
      line = "";
    }
    line = line ? `${line} ${n},` : `  ${n},`;
  }
  if (line) lines.push(line);
  return lines;
}

const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));

function fieldLines(fields: Map<string, GenField>, indent: string): string[] {
  return [...fields].map(([n, f]) => `${indent}${key(n)}: [${f.map((x) => JSON.stringify(x)).join(", ")}],`);
}

/** The text of src/uapi.gen.ts for `btf` of kernel `rel`. */
export function generateUapi(btf: Btf, rel: string): string {
  const model = uapiModel(btf);
  const out: string[] = [
    `// Generated by scripts/gen-uapi.ts (npm run gen:uapi) from the BTF of Linux ${rel}. Do not edit.`,
    "// Names as include/uapi/linux/bpf.h and perf_event.h spell them. Fields: [byte offset,",
    "// kind] or, for a bitfield, [offset of its word, word kind, first bit, width]; a member of",
    "// a named struct inside a command's struct is `outer.inner`, of an anonymous one its name.",
    "",
    `export const UAPI_KERNEL_RELEASE = ${JSON.stringify(rel)};`,
  ];
  for (const e of model.enums) {
    out.push("", e.name ? `/** enum ${e.name} */` : `/** enum { ${e.values[0]?.[0]}, ... } */`);
    for (const [n, v] of e.values) out.push(`export const ${n} = ${v};`);
    if (e.name) out.push(`export const ${e.name} = {`, ...wrap(e.values.map(([n]) => n)), "} as const;");
  }
  for (const s of model.structs) {
    out.push("");
    if (s.groups) {
      out.push(
        `/** union bpf_attr (${s.size} bytes here): each command's member; anonymous ones named by bpf.h's comment on them. */`,
        `export const ${s.name} = {`,
      );
      for (const [g, fields] of s.groups) out.push(`  ${key(g)}: {`, ...fieldLines(fields, "    "), "  },");
    } else {
      out.push(`/** struct ${s.name} (${s.size} bytes here) */`, `export const ${s.name} = {`);
      out.push(...fieldLines(s.fields ?? new Map(), "  "));
    }
    out.push("} as const;");
  }
  return `${out.join("\n")}\n`;
}

export const GENERATED_PATH = "src/uapi.gen.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--release");
  const rel = at >= 0 ? args.splice(at, 2)[1] : undefined;
  const file = args[0] ?? "/sys/kernel/btf/vmlinux";
  if (args[0] !== undefined && rel === undefined) {
    console.error("gen-uapi: give --release R with a BTF file (the release is written into the output)");
    process.exit(2);
  }
  try {
    const btf = Btf.parse(new Uint8Array(readFileSync(file)), { name: file });
    writeFileSync(join(root, GENERATED_PATH), generateUapi(btf, rel ?? release()));
    console.log(`wrote ${GENERATED_PATH} from ${file}`);
  } catch (e) {
    console.error(`gen-uapi: ${(e as Error).message}`);
    process.exit(1);
  }
}
