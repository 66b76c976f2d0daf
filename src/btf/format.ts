// C-like rendering of BTF types for messages, `inspect` and CO-RE explanations.
// Declarators are built inside-out as in C: a pointer wraps the name in `*`, an
// array or function appends `[n]` / `(params)`, with parentheses when a pointer
// meets an array or function (C11 6.7.6).
import type { Btf } from "./btf.ts";
import { BtfError } from "./errors.ts";
import type { BtfType } from "./types.ts";

/** Deeper nesting than this only happens with cyclic (corrupt) BTF. */
const MAX_DEPTH = 64;

function tooDeep(btf: Btf, id: number): never {
  throw new BtfError(btf.name, "type references nest too deeply (a cycle?) while formatting", { typeId: id });
}

function leafName(t: BtfType): string {
  switch (t.kind) {
    case "void":
      return "void";
    case "struct":
    case "union":
    case "enum":
      return `${t.kind} ${t.name || "{...}"}`;
    case "enum64":
      return `enum ${t.name || "{...}"}`;
    case "fwd":
      return `${t.union ? "union" : "struct"} ${t.name}`;
    default:
      return t.name || `(anon ${t.kind})`;
  }
}

function join(left: string, decl: string): string {
  if (decl === "") return left;
  return decl.startsWith("[") ? `${left}${decl}` : `${left} ${decl}`;
}

function params(
  btf: Btf,
  t: Extract<BtfType, { kind: "func_proto" }>,
  depth: number,
  names: boolean,
): string {
  const ps = t.params.map((p) => decl(btf, p.type, names ? p.name : "", depth + 1));
  if (t.variadic) ps.push("...");
  return ps.length ? ps.join(", ") : "void";
}

function decl(btf: Btf, id: number, inner: string, depth: number): string {
  if (depth > MAX_DEPTH) tooDeep(btf, id);
  const t = btf.type(id);
  switch (t.kind) {
    case "ptr": {
      const target = btf.kind(btf.skipModifiers(t.type));
      const wrap = target === "array" || target === "func_proto";
      return decl(btf, t.type, wrap ? `(*${inner})` : `*${inner}`, depth + 1);
    }
    case "array":
      return decl(btf, t.type, `${inner}[${t.nelems}]`, depth + 1);
    case "func_proto":
      return decl(btf, t.returnType, `${inner}(${params(btf, t, depth, false)})`, depth + 1);
    case "const":
    case "volatile":
    case "restrict": {
      // Qualifying a pointer puts the qualifier after the `*` (char *const p).
      if (btf.kind(btf.skipModifiers(t.type)) === "ptr") {
        return decl(btf, t.type, inner ? `${t.kind} ${inner}` : t.kind, depth + 1);
      }
      return `${t.kind} ${decl(btf, t.type, inner, depth + 1)}`;
    }
    case "type_tag":
      return decl(btf, t.type, inner, depth + 1);
    case "func": {
      const proto = btf.type(t.type);
      if (proto.kind !== "func_proto") return join(leafName(t), inner);
      return decl(btf, proto.returnType, `${t.name}(${params(btf, proto, depth, true)})`, depth + 1);
    }
    case "var":
      return decl(btf, t.type, t.name, depth + 1);
    case "datasec":
      return `SEC("${t.name}")`;
    case "decl_tag":
      return `__attribute__((btf_decl_tag("${t.name}"))) on ${decl(btf, t.type, "", depth + 1)}`;
    default:
      return join(leafName(t), inner);
  }
}

/** A one-line C rendering: `struct task_struct *`, `const char[16]`, `int (*)(void *, u64)`. */
export function formatType(btf: Btf, id: number): string {
  return decl(btf, id, "", 0);
}

/** A C declarator of `name` with type `id`: `char comm[16]`, `int (*fn)(void *)`. */
export function formatDecl(btf: Btf, id: number, name: string): string {
  return decl(btf, id, name, 0);
}

function body(btf: Btf, t: BtfType, indent: string, depth: number): string {
  if (depth > MAX_DEPTH) tooDeep(btf, t.id);
  if (t.kind === "struct" || t.kind === "union") {
    const lines = t.members.map((m) => {
      const mt = btf.type(btf.skipModifiers(m.type));
      const where = m.bitfieldSize
        ? `/* bit ${m.bitOffset} */`
        : `/* ${m.bitOffset % 8 === 0 ? `${m.bitOffset / 8}` : `bit ${m.bitOffset}`} */`;
      const bits = m.bitfieldSize ? `: ${m.bitfieldSize}` : "";
      // Anonymous nested structs and unions are printed inline, as in the C source.
      if ((mt.kind === "struct" || mt.kind === "union") && mt.name === "") {
        const inner = body(btf, mt, `${indent}\t`, depth + 1);
        return `${indent}\t${inner}${m.name ? ` ${m.name}` : ""}; ${where}`;
      }
      return `${indent}\t${formatDecl(btf, m.type, m.name)}${bits}; ${where}`;
    });
    const head = t.name ? `${t.kind} ${t.name}` : t.kind;
    return `${head} { /* size ${t.size} */\n${lines.join("\n")}\n${indent}}`;
  }
  if (t.kind === "enum" || t.kind === "enum64") {
    const lines = t.values.map((v) => `${indent}\t${v.name} = ${v.value},`);
    return `enum ${t.name ? `${t.name} ` : ""}{\n${lines.join("\n")}\n${indent}}`;
  }
  return formatType(btf, t.id);
}

/** A full C definition: struct/union members with offsets, enum values, typedefs. */
export function formatTypeDecl(btf: Btf, id: number): string {
  const t = btf.type(id);
  switch (t.kind) {
    case "struct":
    case "union":
    case "enum":
    case "enum64":
      return `${body(btf, t, "", 0)};`;
    case "typedef":
      return `typedef ${formatDecl(btf, t.type, t.name)};`;
    case "func":
    case "var":
      return `${formatType(btf, id)};`;
    case "fwd":
      return `${leafName(t)};`;
    default:
      return formatType(btf, id);
  }
}

/**
 * Renders a CO-RE access string ("0:5:2", relo_core.c bpf_core_parse_spec) against
 * the local type: the first index steps through the root pointer (`->`, or `[i]`
 * when not 0), the rest are member indexes through structs/unions and element
 * indexes through arrays. Anonymous members are passed through without a name.
 * For an enum root the single index names an enumerator.
 */
export function formatAccess(btf: Btf, typeId: number, accessStr: string): string {
  const bad = (msg: string): never => {
    throw new BtfError(btf.name, `CO-RE access string "${accessStr}": ${msg}`, { typeId });
  };
  const parts = accessStr.split(":");
  const idx = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : bad(`"${p}" is not an index`)));
  const rootId = btf.resolve(typeId);
  const root = btf.type(rootId);
  const rootName = root.name || formatType(btf, rootId);
  if (root.kind === "enum" || root.kind === "enum64") {
    const v =
      root.values[idx[0]] ?? bad(`enumerator #${idx[0]} does not exist (${root.values.length} values)`);
    return `${rootName}::${v.name}`;
  }
  let out = rootName;
  if (idx.length === 1) return idx[0] === 0 ? out : `${out}[${idx[0]}]`;
  out += idx[0] === 0 ? "->" : `[${idx[0]}].`;
  let cur = rootId;
  let needDot = false;
  for (let i = 1; i < idx.length; i++) {
    const t = btf.type(btf.resolve(cur));
    if (t.kind === "struct" || t.kind === "union") {
      const m = t.members[idx[i]] ?? bad(`member #${idx[i]} of ${formatType(btf, t.id)} does not exist`);
      if (m.name) {
        out += `${needDot ? "." : ""}${m.name}`;
        needDot = true;
      }
      cur = m.type;
    } else if (t.kind === "array") {
      out += `[${idx[i]}]`;
      needDot = true;
      cur = t.type;
    } else {
      bad(`index #${i} steps into ${formatType(btf, t.id)}, which has no members`);
    }
  }
  return out;
}
