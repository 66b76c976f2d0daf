// BTF types as TypeScript: the type a value decodes to, and the source of a decoder
// expression that reads it from a DataView at a fixed offset. Both follow the runtime
// codec (src/btf/codec.ts) rule for rule, so a generated decoder and makeCodec() give
// the same value for the same bytes (test/gen checks it on every fixture):
// integers up to 4 bytes and bitfields up to 32 bits are numbers, wider ones bigints;
// _Bool is a boolean; pointers are bigints; char arrays are strings up to the first
// NUL; other arrays are arrays; anonymous struct/union members are flattened into the
// enclosing object. Pure: no I/O.
import type { Btf } from "../btf/btf.ts";
import type { BtfComposite } from "../btf/types.ts";
import { TsbpfError } from "../errors.ts";
import { propertyKey } from "./names.ts";

/** A type the generator cannot describe (a function, void, or an unknown kind). */
export class GenError extends TsbpfError {}

/** Helpers a generated decoder may call; emitted once into the module when used. */
export type Helper = "cstr" | "arr" | "bits" | "wide";

const MAX_DEPTH = 64;

function isChar(btf: Btf, id: number): boolean {
  const t = btf.type(btf.resolve(id));
  return t.kind === "int" && t.size === 1 && (t.char || /char$/.test(t.name));
}

interface Field {
  name: string;
  /** Member type, or undefined for a bitfield. */
  type: number;
  /** Byte offset from the start of the outermost value. */
  off: number;
  bitfield?: { byte: number; shift: number; bits: number; signed: boolean };
}

/** Members of a struct/union as the codec sees them: anonymous composites flattened. */
function fields(btf: Btf, t: BtfComposite, base: number, out: Field[]): Field[] {
  for (const m of t.members) {
    const bitOff = base * 8 + m.bitOffset;
    const mt = btf.type(btf.resolve(m.type));
    if (m.bitfieldSize > 0 || bitOff % 8 !== 0) {
      const signed = (mt.kind === "int" || mt.kind === "enum" || mt.kind === "enum64") && mt.signed;
      const bits = m.bitfieldSize > 0 ? m.bitfieldSize : btf.sizeof(m.type) * 8;
      out.push({
        name: m.name,
        type: m.type,
        off: 0,
        bitfield: { byte: Math.floor(bitOff / 8), shift: bitOff % 8, bits, signed },
      });
      continue;
    }
    if (m.name === "" && (mt.kind === "struct" || mt.kind === "union")) {
      fields(btf, mt, bitOff / 8, out);
      continue;
    }
    out.push({ name: m.name, type: m.type, off: bitOff / 8 });
  }
  return out;
}

/**
 * Writes TypeScript for BTF types of one object. `named` maps the ids of the structs,
 * unions and enums the module declares to their TypeScript names; any other composite
 * is written inline.
 */
export class TypeWriter {
  readonly used = new Set<Helper>();

  constructor(
    private readonly btf: Btf,
    private readonly named: Map<number, string>,
  ) {}

  /** The TypeScript type that values of BTF type `id` decode to. */
  tsType(id: number, depth = 0): string {
    if (depth > MAX_DEPTH) throw new GenError(`type #${id}: types nest too deeply`);
    const rid = this.btf.resolve(id);
    const t = this.btf.type(rid);
    switch (t.kind) {
      case "int":
        return t.bool ? "boolean" : t.size <= 4 ? "number" : "bigint";
      case "enum":
        return t.size <= 4 ? "number" : "bigint";
      case "enum64":
        return "bigint";
      case "float":
        return "number";
      case "ptr":
        return "bigint";
      case "array":
        if (isChar(this.btf, t.type)) return "string";
        return `${this.wrap(this.tsType(t.type, depth + 1))}[]`;
      case "struct":
      case "union": {
        const name = this.named.get(rid);
        if (name) return name;
        return this.literal(t, depth);
      }
      default:
        throw new GenError(`type #${id} is a ${t.kind}, which has no value layout`);
    }
  }

  /** `{ a: number; b: string }` for a composite written inline. */
  literal(t: BtfComposite, depth = 0): string {
    const parts = fields(this.btf, t, 0, []).map((f) => {
      const type = f.bitfield
        ? f.bitfield.bits <= 32
          ? "number"
          : "bigint"
        : this.tsType(f.type, depth + 1);
      return `${propertyKey(f.name)}: ${type}`;
    });
    return parts.length ? `{ ${parts.join("; ")} }` : "Record<string, never>";
  }

  /** The members of a named composite, one `name: type;` per line (for an interface body). */
  members(t: BtfComposite): string[] {
    return fields(this.btf, t, 0, []).map((f) => {
      const type = f.bitfield ? (f.bitfield.bits <= 32 ? "number" : "bigint") : this.tsType(f.type, 1);
      return `${propertyKey(f.name)}: ${type};`;
    });
  }

  private wrap(type: string): string {
    return /^[\w.]+$/.test(type) ? type : `(${type})`;
  }

  /** Source of an expression decoding type `id` from DataView `v` at byte offset expression `off`. */
  decode(id: number, off: string, depth = 0): string {
    if (depth > MAX_DEPTH) throw new GenError(`type #${id}: types nest too deeply`);
    const rid = this.btf.resolve(id);
    const t = this.btf.type(rid);
    switch (t.kind) {
      case "int":
        if (t.bool) return `v.getUint8(${off}) !== 0`;
        return this.scalar(t.size, t.signed, off);
      case "enum":
      case "enum64":
        return this.scalar(t.size, t.signed, off);
      case "float":
        if (t.size !== 4 && t.size !== 8) throw new GenError(`float of ${t.size} bytes has no decoder`);
        return `v.getFloat${t.size * 8}(${off}, true)`;
      case "ptr":
        return `v.getBigUint64(${off}, true)`;
      case "array": {
        if (isChar(this.btf, t.type)) {
          this.used.add("cstr");
          return `cstr(v, ${off}, ${t.nelems})`;
        }
        this.used.add("arr");
        const es = this.btf.sizeof(t.type);
        const i = `i${depth}`;
        return `arr(${t.nelems}, (${i}) => ${this.decode(t.type, `${off} + ${i} * ${es}`, depth + 1)})`;
      }
      case "struct":
      case "union": {
        const name = this.named.get(rid);
        if (name) return `decode${name}(v, ${off})`;
        return this.object(t, off, depth);
      }
      default:
        throw new GenError(`type #${id} is a ${t.kind}, which has no value layout`);
    }
  }

  /** `{ a: …, b: … }` decoding every member of a composite at `off`. */
  object(t: BtfComposite, off: string, depth = 0): string {
    return `{ ${this.objectLines(t, off, depth).join(", ")} }`;
  }

  /** One `name: expression` per member of a composite at `off`. */
  objectLines(t: BtfComposite, off: string, depth = 0): string[] {
    return fields(this.btf, t, 0, []).map((f) => {
      let expr: string;
      if (f.bitfield) {
        this.used.add("bits");
        const b = f.bitfield;
        const call = `bits(v, ${at(off, b.byte)}, ${b.shift}, ${b.bits}, ${b.signed})`;
        expr = b.bits <= 32 ? `Number(${call})` : call;
      } else expr = this.decode(f.type, at(off, f.off), depth + 1);
      return `${propertyKey(f.name)}: ${expr}`;
    });
  }

  private scalar(size: number, signed: boolean, off: string): string {
    switch (size) {
      case 1:
        return signed ? `v.getInt8(${off})` : `v.getUint8(${off})`;
      case 2:
      case 4:
        return `v.get${signed ? "Int" : "Uint"}${size * 8}(${off}, true)`;
      case 8:
        return `v.getBig${signed ? "Int" : "Uint"}64(${off}, true)`;
      default:
        this.used.add("wide");
        return `wide(v, ${off}, ${size}, ${signed})`;
    }
  }
}

/** `o + 8`, or `o` for 0. */
function at(off: string, n: number): string {
  return n === 0 ? off : `${off} + ${n}`;
}

/** Source of the helpers a module's decoders use, in a fixed order. */
export function helperSource(used: Set<Helper>): string[] {
  const out: string[] = [];
  if (used.has("cstr"))
    out.push(
      "const utf8 = new TextDecoder();",
      "/** A char array: the bytes up to the first NUL, as UTF-8. */",
      "function cstr(v: DataView, off: number, n: number): string {",
      "  const b = new Uint8Array(v.buffer, v.byteOffset + off, n);",
      "  const end = b.indexOf(0);",
      "  return utf8.decode(b.subarray(0, end < 0 ? n : end));",
      "}",
    );
  if (used.has("arr"))
    out.push(
      "function arr<T>(n: number, f: (i: number) => T): T[] {",
      "  const out: T[] = new Array(n);",
      "  for (let i = 0; i < n; i++) out[i] = f(i);",
      "  return out;",
      "}",
    );
  if (used.has("wide") || used.has("bits"))
    out.push(
      "/** `size` little-endian bytes as an unsigned bigint. */",
      "function uwide(v: DataView, off: number, size: number): bigint {",
      "  let x = 0n;",
      "  for (let i = size - 1; i >= 0; i--) x = (x << 8n) | BigInt(v.getUint8(off + i));",
      "  return x;",
      "}",
    );
  if (used.has("wide"))
    out.push(
      "function wide(v: DataView, off: number, size: number, signed: boolean): bigint {",
      "  const u = uwide(v, off, size);",
      "  return signed ? BigInt.asIntN(size * 8, u) : u;",
      "}",
    );
  if (used.has("bits"))
    out.push(
      "/** A bitfield of `n` bits, `shift` bits into the byte at `off`. */",
      "function bits(v: DataView, off: number, shift: number, n: number, signed: boolean): bigint {",
      "  const raw = (uwide(v, off, Math.ceil((shift + n) / 8)) >> BigInt(shift)) & ((1n << BigInt(n)) - 1n);",
      "  return signed ? BigInt.asIntN(n, raw) : raw;",
      "}",
    );
  return out;
}
