// Writes raw BTF (include/uapi/linux/btf.h) from type objects: the loader uses it to
// sanitise object BTF before BPF_BTF_LOAD, and tests use it to build split BTF.
// Strings are deduplicated; the string section starts with the empty string.
import type { Btf } from "./btf.ts";
import { BtfError } from "./errors.ts";
import { BTF_HEADER_LEN, BTF_MAGIC, BTF_VERSION, extraBytes } from "./layout.ts";
import type { BtfType } from "./types.ts";
import { BTF_KIND } from "./types.ts";

export interface EncodeOptions {
  /** Encode split BTF on top of this base: string offsets continue after the base's. */
  base?: Btf;
}

class StringWriter {
  private readonly offsets = new Map<string, number>();
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  private readonly enc = new TextEncoder();
  constructor(private readonly start: number) {
    this.add("");
  }
  /** Offset of `s` in the final table (absolute, i.e. including the base). */
  ref(s: string): number {
    // The empty name is offset 0 in base and split BTF alike (btf.rst: name_off 0 = anonymous).
    if (s === "") return 0;
    return this.add(s);
  }
  private add(s: string): number {
    const hit = this.offsets.get(s);
    if (hit !== undefined) return hit;
    const b = this.enc.encode(s);
    if (b.includes(0)) throw new BtfError("<encode>", `string ${JSON.stringify(s)} contains NUL`);
    const off = this.start + this.size;
    this.offsets.set(s, off);
    this.chunks.push(b, new Uint8Array(1));
    this.size += b.length + 1;
    return off;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let p = 0;
    for (const c of this.chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}

function kindNumber(t: BtfType): number {
  const k = (BTF_KIND as Record<string, number>)[t.kind.toUpperCase()];
  if (k === undefined || k === 0)
    throw new BtfError("<encode>", `cannot encode a ${t.kind}`, { typeId: t.id });
  return k;
}

/** Number of trailing records (vlen) of a type as encoded. */
function vlenOf(t: BtfType): number {
  switch (t.kind) {
    case "struct":
    case "union":
      return t.members.length;
    case "enum":
    case "enum64":
      return t.values.length;
    case "func_proto":
      return t.params.length + (t.variadic ? 1 : 0);
    case "datasec":
      return t.vars.length;
    case "func":
      return t.linkage; // vlen holds the linkage for FUNC
    default:
      return 0;
  }
}

/** Encodes types (ids 1..n, or base.length.. for split BTF, in order) as raw BTF bytes. */
export function encodeBtf(types: BtfType[], opts: EncodeOptions = {}): Uint8Array {
  const strings = new StringWriter(opts.base ? opts.base.strings.end : 0);
  let typeLen = 0;
  for (const t of types) {
    const vlen = vlenOf(t);
    if (vlen > 0xffff) throw new BtfError("<encode>", `vlen ${vlen} exceeds 65535`, { typeId: t.id });
    typeLen += 12 + extraBytes(kindNumber(t), vlen);
  }
  const typeBytes = new Uint8Array(typeLen);
  const dv = new DataView(typeBytes.buffer);
  let p = 0;
  const u32 = (v: number) => {
    dv.setUint32(p, v >>> 0, true);
    p += 4;
  };
  for (const t of types) {
    const kind = kindNumber(t);
    let kflag = 0;
    let sizeOrType = 0;
    switch (t.kind) {
      case "int":
      case "float":
      case "datasec":
      case "enum":
      case "enum64":
        sizeOrType = t.size;
        break;
      case "struct":
      case "union":
        sizeOrType = t.size;
        // kind_flag: member offsets carry bitfield sizes (btf.rst BTF_KIND_STRUCT).
        kflag = t.members.some((m) => m.bitfieldSize !== 0) ? 1 : 0;
        break;
      case "ptr":
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
      case "func":
      case "var":
      case "decl_tag":
        sizeOrType = t.type;
        break;
      case "func_proto":
        sizeOrType = t.returnType;
        break;
    }
    if (t.kind === "enum" || t.kind === "enum64") kflag = t.signed ? 1 : 0;
    if (t.kind === "fwd") kflag = t.union ? 1 : 0;
    u32(strings.ref(t.name));
    u32((kflag << 31) | (kind << 24) | vlenOf(t));
    u32(sizeOrType);
    switch (t.kind) {
      case "int": {
        const enc = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
        u32((enc << 24) | ((t.bitsOffset & 0xff) << 16) | (t.bits & 0xff));
        break;
      }
      case "array":
        u32(t.type);
        u32(t.indexType);
        u32(t.nelems);
        break;
      case "struct":
      case "union":
        for (const m of t.members) {
          u32(strings.ref(m.name));
          u32(m.type);
          u32(kflag ? (m.bitfieldSize << 24) | (m.bitOffset & 0xffffff) : m.bitOffset);
        }
        break;
      case "enum":
        for (const v of t.values) {
          u32(strings.ref(v.name));
          u32(v.value);
        }
        break;
      case "enum64":
        for (const v of t.values) {
          const u = BigInt.asUintN(64, v.value);
          u32(strings.ref(v.name));
          u32(Number(u & 0xffffffffn));
          u32(Number(u >> 32n));
        }
        break;
      case "func_proto":
        for (const a of t.params) {
          u32(strings.ref(a.name));
          u32(a.type);
        }
        if (t.variadic) {
          u32(0);
          u32(0);
        }
        break;
      case "var":
        u32(t.linkage);
        break;
      case "datasec":
        for (const v of t.vars) {
          u32(v.type);
          u32(v.offset);
          u32(v.size);
        }
        break;
      case "decl_tag":
        u32(t.componentIdx);
        break;
    }
  }
  const strBytes = strings.bytes();
  // Split BTF needs no leading empty string of its own, but keeping it is harmless
  // and matches what pahole emits for module BTF.
  const out = new Uint8Array(BTF_HEADER_LEN + typeLen + strBytes.length);
  const h = new DataView(out.buffer);
  h.setUint16(0, BTF_MAGIC, true);
  out[2] = BTF_VERSION;
  out[3] = 0;
  h.setUint32(4, BTF_HEADER_LEN, true);
  h.setUint32(8, 0, true);
  h.setUint32(12, typeLen, true);
  h.setUint32(16, typeLen, true);
  h.setUint32(20, strBytes.length, true);
  out.set(typeBytes, BTF_HEADER_LEN);
  out.set(strBytes, BTF_HEADER_LEN + typeLen);
  return out;
}
