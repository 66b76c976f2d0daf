// BTF value codec: turns the bytes of a BTF-described value (map key/value, ring-buffer
// record, global variable) into a plain JS value and back. Layouts follow the BTF
// spec (Documentation/bpf/btf.rst): members at bit offsets, bitfields when the struct's
// kind_flag gives a bitfield size, little-endian scalars (BPF target, x86-64 host).
//
// A codec is compiled once per type into nested closures, so decoding a record costs
// a few DataView reads and no type lookups: the ring-buffer reader calls it per event.
// Pure: no syscalls, no I/O.
import type { Btf } from "./btf.ts";
import {
  CodecError,
  checkInt,
  type Dec,
  describe,
  type Enc,
  enumPart,
  floatPart,
  intPart,
  type Part,
  readWide,
  typeLabel,
  u64Part,
  writeWide,
} from "./codec-scalar.ts";
import type { BtfType } from "./types.ts";

export { CodecError };

/** Options of makeCodec(). */
export interface CodecOptions {
  /** Decode char arrays as a Uint8Array copy instead of a string up to the first NUL. */
  rawChars?: boolean;
  /** Root name used in error paths ("value", "key", a variable name). Default "value". */
  root?: string;
}

/** Turns the bytes of one BTF type into a JS value and back: integers up to 32 bits as numbers, 64-bit ones as bigints, char arrays as strings, structs as objects. */
export interface Codec {
  /** Size of the value in bytes. */
  size: number;
  /** The JS value of the bytes at `offset` of `view`. */
  decode(view: DataView, offset?: number): unknown;
  /** Encode into `out` (zero-filled first) or a new buffer of `size` bytes. */
  encode(value: unknown, out?: Uint8Array): Uint8Array;
  /** Encode into a DataView at an offset, without zero-filling. */
  encodeInto(value: unknown, view: DataView, offset: number): void;
}

const MAX_DEPTH = 64;

/** A codec for BTF type `typeId`: decodes its bytes into a JS value and encodes one back (see Codec). */
export function makeCodec(btf: Btf, typeId: number, opts: CodecOptions = {}): Codec {
  const part = build(btf, typeId, opts, 0);
  const root = opts.root ?? "value";
  const { dec, enc, size } = part;
  return {
    size,
    decode: (view, offset = 0) => {
      if (offset + size > view.byteLength) {
        throw new CodecError(
          root,
          `needs ${size} bytes at offset ${offset}, the buffer has ${view.byteLength}`,
        );
      }
      return dec(view, offset);
    },
    encode(value, out) {
      const buf = out ?? new Uint8Array(size);
      if (buf.byteLength < size)
        throw new CodecError(root, `output buffer is ${buf.byteLength} bytes, needs ${size}`);
      buf.fill(0, 0, size);
      enc(value, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0, root);
      return buf;
    },
    encodeInto: (value, view, offset) => enc(value, view, offset, root),
  };
}

/** Name of an enum value, or undefined (enum types only; modifiers/typedefs resolved). */
export function enumName(btf: Btf, typeId: number, value: number | bigint): string | undefined {
  const t = btf.type(btf.resolve(typeId));
  if (t.kind !== "enum" && t.kind !== "enum64") return undefined;
  for (const v of t.values) if (BigInt(v.value) === BigInt(value)) return v.name;
  return undefined;
}

function build(btf: Btf, id: number, opts: CodecOptions, depth: number): Part {
  if (depth > MAX_DEPTH) throw new CodecError(`type #${id}`, "types nest too deeply");
  const t = btf.type(btf.resolve(id));
  switch (t.kind) {
    case "int":
      return intPart(t);
    case "enum":
    case "enum64":
      return enumPart(t);
    case "float":
      return floatPart(t.size, t.id);
    case "ptr":
      return u64Part();
    case "array":
      return arrayPart(btf, t.type, t.nelems, opts, depth);
    case "struct":
    case "union":
      return compositePart(btf, t, opts, depth);
    default:
      throw new CodecError(
        `type #${id}`,
        `cannot encode or decode a ${t.kind} (expected int, enum, float, ptr, array, struct or union)`,
      );
  }
}

function isCharType(btf: Btf, id: number): boolean {
  const t = btf.type(btf.resolve(id));
  return t.kind === "int" && t.size === 1 && (t.char || /char$/.test(t.name));
}

const utf8 = new TextDecoder("utf-8");
const utf8enc = new TextEncoder();

function arrayPart(btf: Btf, elemId: number, n: number, opts: CodecOptions, depth: number): Part {
  if (isCharType(btf, elemId)) {
    const enc: Enc = (v, dv, off, path) => {
      let bytes: Uint8Array;
      if (typeof v === "string") bytes = utf8enc.encode(v);
      else if (v instanceof Uint8Array) bytes = v;
      else throw new CodecError(path, `expected a string or Uint8Array for char[${n}], got ${describe(v)}`);
      if (bytes.byteLength > n) throw new CodecError(path, `${bytes.byteLength} bytes do not fit char[${n}]`);
      for (let i = 0; i < n; i++) dv.setUint8(off + i, i < bytes.byteLength ? bytes[i] : 0);
    };
    const dec: Dec = opts.rawChars
      ? (dv, off) => new Uint8Array(dv.buffer.slice(dv.byteOffset + off, dv.byteOffset + off + n))
      : (dv, off) => {
          const b = new Uint8Array(dv.buffer, dv.byteOffset + off, n);
          let end = b.indexOf(0);
          if (end < 0) end = n;
          // Short ASCII strings (comm, tags) are the common case: avoid TextDecoder's cost.
          let ascii = true;
          for (let i = 0; i < end; i++) if (b[i] > 0x7f) ascii = false;
          if (ascii && end <= 64)
            return String.fromCharCode.apply(null, b.subarray(0, end) as unknown as number[]);
          return utf8.decode(b.subarray(0, end));
        };
    return { size: n, dec, enc };
  }
  const elem = build(btf, elemId, opts, depth + 1);
  const es = elem.size;
  const edec = elem.dec;
  const eenc = elem.enc;
  return {
    size: es * n,
    dec: (dv, off) => {
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = edec(dv, off + i * es);
      return out;
    },
    enc: (v, dv, off, path) => {
      if (!Array.isArray(v)) throw new CodecError(path, `expected an array of ${n}, got ${describe(v)}`);
      if (v.length > n) throw new CodecError(path, `${v.length} elements do not fit [${n}]`);
      for (let i = 0; i < v.length; i++) eenc(v[i], dv, off + i * es, `${path}[${i}]`);
    },
  };
}

interface Field {
  name: string;
  dec: Dec;
  enc: Enc;
  /** Byte offset (whole-byte members). */
  off: number;
}

/** Collect the fields of a struct/union, flattening anonymous struct/union members. */
function collectFields(
  btf: Btf,
  t: BtfType & { kind: "struct" | "union" },
  base: number,
  opts: CodecOptions,
  depth: number,
  out: Field[],
): void {
  for (const m of t.members) {
    const bitOff = base * 8 + m.bitOffset;
    if (m.bitfieldSize > 0 || bitOff % 8 !== 0) {
      const mt = btf.type(btf.resolve(m.type));
      const signed = (mt.kind === "int" || mt.kind === "enum" || mt.kind === "enum64") && mt.signed;
      const bits = m.bitfieldSize > 0 ? m.bitfieldSize : btf.sizeof(m.type) * 8;
      out.push({ name: m.name, off: 0, ...bitfield(bitOff, bits, signed) });
      continue;
    }
    const off = bitOff / 8;
    const mt = btf.type(btf.resolve(m.type));
    if (m.name === "" && (mt.kind === "struct" || mt.kind === "union")) {
      collectFields(btf, mt, off, opts, depth + 1, out);
      continue;
    }
    const p = build(btf, m.type, opts, depth + 1);
    out.push({ name: m.name, off, dec: p.dec, enc: p.enc });
  }
}

function compositePart(
  btf: Btf,
  t: BtfType & { kind: "struct" | "union" },
  opts: CodecOptions,
  depth: number,
): Part {
  const fields: Field[] = [];
  collectFields(btf, t, 0, opts, depth, fields);
  const names = new Set(fields.map((f) => f.name));
  const n = fields.length;
  const isUnion = t.kind === "union";
  return {
    size: t.size,
    dec: (dv, off) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const f = fields[i];
        o[f.name] = f.dec(dv, off + f.off);
      }
      return o;
    },
    // Missing members encode as zero; unknown members are an error (likely a typo).
    enc: (v, dv, off, path) => {
      if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
        throw new CodecError(path, `expected an object for ${typeLabel(t)}, got ${describe(v)}`);
      }
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (!names.has(k)) {
          throw new CodecError(
            `${path}.${k}`,
            `no such member in ${typeLabel(t)} (members: ${[...names].join(", ")})`,
          );
        }
      }
      let set = 0;
      for (let i = 0; i < n; i++) {
        const f = fields[i];
        const fv = rec[f.name];
        if (fv === undefined) continue;
        if (isUnion && ++set > 1) throw new CodecError(path, `set only one member of ${typeLabel(t)}`);
        f.enc(fv, dv, off + f.off, `${path}.${f.name}`);
      }
    },
  };
}

/** A bitfield at an absolute bit offset within the enclosing value (little-endian). */
function bitfield(bitOff: number, bits: number, signed: boolean): { dec: Dec; enc: Enc } {
  const byte = Math.floor(bitOff / 8);
  const shift = bitOff % 8;
  const span = Math.ceil((shift + bits) / 8);
  const B = BigInt(bits);
  const S = BigInt(shift);
  const mask = (1n << B) - 1n;
  const [min, max] = signed ? [-(1n << (B - 1n)), (1n << (B - 1n)) - 1n] : [0n, mask];
  const small = bits <= 32;
  const dec: Dec = (dv, off) => {
    const raw = (readWide(dv, off + byte, span) >> S) & mask;
    const v = signed ? BigInt.asIntN(bits, raw) : raw;
    return small ? Number(v) : v;
  };
  const enc: Enc = (v, dv, off, path) => {
    const b = BigInt.asUintN(bits, checkInt(v, path, min, max, `a ${bits}-bit field`));
    const cur = readWide(dv, off + byte, span);
    writeWide(dv, off + byte, span, (cur & ~(mask << S)) | (b << S));
  };
  return { dec, enc };
}
