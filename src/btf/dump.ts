// `bpftool btf dump file X` (format raw) reproduced line for line: our oracle hook.
// The layout follows bpftool's dump_btf_type() in tools/bpf/bpftool/btf.c; for split
// BTF only the split part is printed, as bpftool does.
import type { Btf } from "./btf.ts";
import type { BtfType } from "./types.ts";

/** bpftool's btf_str(): offset 0 prints as "(anon)". */
function q(name: string): string {
  return `'${name === "" ? "(anon)" : name}'`;
}

function intEncoding(t: { signed: boolean; char: boolean; bool: boolean }): string {
  // bpftool switches on the whole encoding value, so combinations print as UNKN.
  const enc = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
  return ["(none)", "SIGNED", "CHAR", "UNKN", "BOOL"][enc] ?? "UNKN";
}

const FUNC_LINKAGE = ["static", "global", "extern"];
const VAR_LINKAGE = ["static", "global", "extern"];

export function dumpType(btf: Btf, t: BtfType): string {
  const head = `[${t.id}] ${t.kind.toUpperCase()} ${q(t.name)}`;
  switch (t.kind) {
    case "void":
      return head;
    case "int":
      return `${head} size=${t.size} bits_offset=${t.bitsOffset} nr_bits=${t.bits} encoding=${intEncoding(t)}`;
    case "ptr":
    case "const":
    case "volatile":
    case "restrict":
    case "typedef":
    case "type_tag":
      return `${head} type_id=${t.type}`;
    case "array":
      return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case "struct":
    case "union": {
      let s = `${head} size=${t.size} vlen=${t.members.length}`;
      for (const m of t.members) {
        s += `\n\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}`;
        if (m.bitfieldSize) s += ` bitfield_size=${m.bitfieldSize}`;
      }
      return s;
    }
    case "enum": {
      let s = `${head} encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t${q(v.name)} val=${v.value}`;
      return s;
    }
    case "enum64": {
      let s = `${head} encoding=${t.signed ? "SIGNED" : "UNSIGNED"} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t${q(v.name)} val=${v.value}${t.signed ? "LL" : "ULL"}`;
      return s;
    }
    case "fwd":
      return `${head} fwd_kind=${t.union ? "union" : "struct"}`;
    case "func":
      return `${head} type_id=${t.type} linkage=${FUNC_LINKAGE[t.linkage] ?? "(unknown)"}`;
    case "func_proto": {
      const vlen = t.params.length + (t.variadic ? 1 : 0);
      let s = `${head} ret_type_id=${t.returnType} vlen=${vlen}`;
      for (const p of t.params) s += `\n\t${q(p.name)} type_id=${p.type}`;
      if (t.variadic) s += "\n\t'(anon)' type_id=0";
      return s;
    }
    case "var":
      return `${head} type_id=${t.type}, linkage=${VAR_LINKAGE[t.linkage] ?? "(unknown)"}`;
    case "datasec": {
      let s = `${head} size=${t.size} vlen=${t.vars.length}`;
      for (const v of t.vars) {
        s += `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size}`;
        // bpftool names the variable when its id exists.
        if (v.type < btf.length) s += ` (${btf.kind(v.type).toUpperCase()} ${q(btf.nameOf(v.type))})`;
      }
      return s;
    }
    case "float":
      return `${head} size=${t.size}`;
    case "decl_tag":
      return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
  }
}

/** The whole dump, one line per type plus member lines, ending in a newline. */
export function dumpRaw(btf: Btf): string {
  const out: string[] = [];
  for (let id = btf.firstId; id < btf.length; id++) out.push(dumpType(btf, btf.type(id)));
  return out.length ? `${out.join("\n")}\n` : "";
}
