// Turns one raw type record into its object form (types.ts). Record bounds were
// checked by the scan in btf.ts; here we check what the scan leaves for later:
// string offsets and the type ids a record refers to (which must be < length).
// Kind numbers are literals (BTF_KIND_* from linux/btf.h, named in comments) so the
// hot switch does not go through module bindings.
import { BtfError } from "./errors.ts";
import type { StringTable } from "./strings.ts";
import type { BtfMember, BtfParam, BtfType } from "./types.ts";

export interface DecodeContext {
  readonly dv: DataView;
  readonly strings: StringTable;
  /** Last type id + 1 (including the base for split BTF). */
  readonly length: number;
  readonly name: string;
}

// Plain module functions rather than per-call closures: the decoder runs ~150k times
// for vmlinux and closure allocation dominated its profile.
function str(ctx: DecodeContext, id: number, off: number, o: number): string {
  const strings = ctx.strings;
  if (!strings.has(o)) {
    throw new BtfError(ctx.name, `string offset ${o} out of range (expected < ${strings.end})`, {
      typeId: id,
      offset: off,
    });
  }
  return strings.get(o);
}

function ref(ctx: DecodeContext, id: number, off: number, len: number, t: number): number {
  if (t >= len) {
    throw new BtfError(ctx.name, `refers to type id ${t}, which does not exist (expected < ${len})`, {
      typeId: id,
      offset: off,
    });
  }
  return t;
}

export function decodeType(ctx: DecodeContext, id: number, off: number): BtfType {
  const dv = ctx.dv;
  const len = ctx.length;
  const nameOff = dv.getUint32(off, true);
  const info = dv.getUint32(off + 4, true);
  const sizeOrType = dv.getUint32(off + 8, true);
  const kind = (info >>> 24) & 0x1f;
  const vlen = info & 0xffff;
  const kflag = info >>> 31 === 1;
  const name = str(ctx, id, off, nameOff);
  const p = off + 12;

  switch (kind) {
    case 1: {
      // BTF_KIND_INT
      const v = dv.getUint32(p, true);
      const enc = (v >>> 24) & 0x0f;
      return {
        kind: "int",
        id,
        name,
        size: sizeOrType,
        signed: (enc & 1) !== 0,
        char: (enc & 2) !== 0,
        bool: (enc & 4) !== 0,
        bitsOffset: (v >>> 16) & 0xff,
        bits: v & 0xff,
      };
    }
    case 2: // BTF_KIND_PTR
      return { kind: "ptr", id, name, type: ref(ctx, id, off, len, sizeOrType) };
    case 8: // BTF_KIND_TYPEDEF
      return { kind: "typedef", id, name, type: ref(ctx, id, off, len, sizeOrType) };
    case 9: // BTF_KIND_VOLATILE
      return { kind: "volatile", id, name, type: ref(ctx, id, off, len, sizeOrType) };
    case 10: // BTF_KIND_CONST
      return { kind: "const", id, name, type: ref(ctx, id, off, len, sizeOrType) };
    case 11: // BTF_KIND_RESTRICT
      return { kind: "restrict", id, name, type: ref(ctx, id, off, len, sizeOrType) };
    case 18: // BTF_KIND_TYPE_TAG
      return { kind: "type_tag", id, name, type: ref(ctx, id, off, len, sizeOrType) };
    case 3: // BTF_KIND_ARRAY
      return {
        kind: "array",
        id,
        name,
        type: ref(ctx, id, off, len, dv.getUint32(p, true)),
        indexType: ref(ctx, id, off, len, dv.getUint32(p + 4, true)),
        nelems: dv.getUint32(p + 8, true),
      };
    case 4: // BTF_KIND_STRUCT
    case 5: {
      // BTF_KIND_UNION
      const members: BtfMember[] = new Array(vlen);
      for (let i = 0, q = p; i < vlen; i++, q += 12) {
        const m = dv.getUint32(q + 8, true);
        // With kind_flag the offset packs bitfield_size (high 8) and bit offset (low 24).
        members[i] = {
          name: str(ctx, id, off, dv.getUint32(q, true)),
          type: ref(ctx, id, off, len, dv.getUint32(q + 4, true)),
          bitOffset: kflag ? m & 0xffffff : m,
          bitfieldSize: kflag ? m >>> 24 : 0,
        };
      }
      return { kind: kind === 4 /* STRUCT */ ? "struct" : "union", id, name, size: sizeOrType, members };
    }
    case 6: {
      // BTF_KIND_ENUM
      const values = new Array(vlen);
      for (let i = 0, q = p; i < vlen; i++, q += 8) {
        values[i] = {
          name: str(ctx, id, off, dv.getUint32(q, true)),
          value: kflag ? dv.getInt32(q + 4, true) : dv.getUint32(q + 4, true),
        };
      }
      return { kind: "enum", id, name, size: sizeOrType, signed: kflag, values };
    }
    case 19: {
      // BTF_KIND_ENUM64
      const values = new Array(vlen);
      for (let i = 0, q = p; i < vlen; i++, q += 12) {
        const lo = BigInt(dv.getUint32(q + 4, true));
        const hi = BigInt(dv.getUint32(q + 8, true));
        const u = (hi << 32n) | lo;
        values[i] = {
          name: str(ctx, id, off, dv.getUint32(q, true)),
          value: kflag ? BigInt.asIntN(64, u) : u,
        };
      }
      return { kind: "enum64", id, name, size: sizeOrType, signed: kflag, values };
    }
    case 7: // BTF_KIND_FWD
      return { kind: "fwd", id, name, union: kflag };
    case 12: // BTF_KIND_FUNC
      // vlen carries the linkage (BTF_FUNC_STATIC/GLOBAL/EXTERN).
      return { kind: "func", id, name, type: ref(ctx, id, off, len, sizeOrType), linkage: vlen };
    case 13: {
      // BTF_KIND_FUNC_PROTO
      const params: BtfParam[] = [];
      let variadic = false;
      for (let i = 0, q = p; i < vlen; i++, q += 8) {
        const pn = dv.getUint32(q, true);
        const pt = dv.getUint32(q + 4, true);
        // A trailing {name_off 0, type 0} is `...` (btf.rst BTF_KIND_FUNC_PROTO).
        if (i === vlen - 1 && pn === 0 && pt === 0) {
          variadic = true;
          break;
        }
        params.push({ name: str(ctx, id, off, pn), type: ref(ctx, id, off, len, pt) });
      }
      return {
        kind: "func_proto",
        id,
        name,
        returnType: ref(ctx, id, off, len, sizeOrType),
        params,
        variadic,
      };
    }
    case 14: // BTF_KIND_VAR
      return {
        kind: "var",
        id,
        name,
        type: ref(ctx, id, off, len, sizeOrType),
        linkage: dv.getUint32(p, true),
      };
    case 15: {
      // BTF_KIND_DATASEC
      const vars = new Array(vlen);
      for (let i = 0, q = p; i < vlen; i++, q += 12) {
        vars[i] = {
          type: ref(ctx, id, off, len, dv.getUint32(q, true)),
          offset: dv.getUint32(q + 4, true),
          size: dv.getUint32(q + 8, true),
        };
      }
      return { kind: "datasec", id, name, size: sizeOrType, vars };
    }
    case 16: // BTF_KIND_FLOAT
      return { kind: "float", id, name, size: sizeOrType };
    case 17: // BTF_KIND_DECL_TAG
      return {
        kind: "decl_tag",
        id,
        name,
        type: ref(ctx, id, off, len, sizeOrType),
        componentIdx: dv.getInt32(p, true),
      };
    default:
      // The scan rejects unknown kinds; this guards against a corrupted offset table.
      throw new BtfError(ctx.name, `unknown kind ${kind}`, { typeId: id, offset: off });
  }
}
