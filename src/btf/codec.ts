// BTF value codec: turns the bytes of a BTF-described value (map key/value, ring-buffer
// record, global variable) into a plain JS value and back. Layouts follow the BTF
// spec (Documentation/bpf/btf.rst): members at bit offsets, bitfields when the struct's
// kind_flag gives a bitfield size, little-endian scalars (BPF target, x86-64 host).
//
// A codec is compiled once per type into nested closures, so decoding a record costs
// a few DataView reads and no type lookups: the ring-buffer reader calls it per event.
// Pure: no syscalls, no I/O.
import { TsbpfError } from "../errors.ts";
import type { Btf } from "./btf.ts";
import type { BtfEnum, BtfEnum64, BtfInt, BtfType } from "./types.ts";

export class CodecError extends TsbpfError {
  /** Field path such as "value.samples[2]". */
  readonly path: string;
  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.path = path;
  }
}

export interface CodecOptions {
  /** Decode char arrays as a Uint8Array copy instead of a string up to the first NUL. */
  rawChars?: boolean;
  /** Root name used in error paths ("value", "key", a variable name). Default "value". */
  root?: string;
}

export interface Codec {
  /** Size of the value in bytes. */
  size: number;
  decode(view: DataView, offset?: number): unknown;
  /** Encode into `out` (zero-filled first) or a new buffer of `size` bytes. */
  encode(value: unknown, out?: Uint8Array): Uint8Array;
  /** Encode into a DataView at an offset, without zero-filling. */
  encodeInto(value: unknown, view: DataView, offset: number): void;
}

type Dec = (dv: DataView, off: number) => unknown;
type Enc = (v: unknown, dv: DataView, off: number, path: string) => void;
interface Part {
  dec: Dec;
  enc: Enc;
  size: number;
}

const MAX_DEPTH = 64;

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

function typeLabel(t: BtfType): string {
  return t.name ? `${t.kind} ${t.name}` : t.kind;
}

function checkInt(v: unknown, path: string, min: bigint, max: bigint, label: string): bigint {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
  else if (typeof v === "boolean") b = v ? 1n : 0n;
  else throw new CodecError(path, `expected an integer for ${label}, got ${describe(v)}`);
  if (b < min || b > max) throw new CodecError(path, `${b} does not fit ${label} (${min}..${max})`);
  return b;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (typeof v === "string") return `string "${v.length > 20 ? `${v.slice(0, 20)}…` : v}"`;
  return `${typeof v} ${typeof v === "object" ? "" : String(v)}`.trim();
}

function range(size: number, signed: boolean): [bigint, bigint] {
  const bits = BigInt(size * 8);
  return signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

/** Scalar of `size` bytes: numbers up to 32 bits, bigint for 64. */
function scalar(size: number, signed: boolean, label: string): Part {
  const [min, max] = range(size, signed);
  const enc: Enc = (v, dv, off, path) => {
    const b = checkInt(v, path, min, max, label);
    switch (size) {
      case 1:
        dv.setUint8(off, Number(b) & 0xff);
        return;
      case 2:
        dv.setUint16(off, Number(b) & 0xffff, true);
        return;
      case 4:
        dv.setUint32(off, Number(b) >>> 0, true);
        return;
      case 8:
        dv.setBigUint64(off, BigInt.asUintN(64, b), true);
        return;
      default:
        writeWide(dv, off, size, BigInt.asUintN(size * 8, b));
    }
  };
  let dec: Dec;
  switch (size) {
    case 1:
      dec = signed ? (dv, off) => dv.getInt8(off) : (dv, off) => dv.getUint8(off);
      break;
    case 2:
      dec = signed ? (dv, off) => dv.getInt16(off, true) : (dv, off) => dv.getUint16(off, true);
      break;
    case 4:
      dec = signed ? (dv, off) => dv.getInt32(off, true) : (dv, off) => dv.getUint32(off, true);
      break;
    case 8:
      dec = signed ? (dv, off) => dv.getBigInt64(off, true) : (dv, off) => dv.getBigUint64(off, true);
      break;
    default: {
      // __int128 and other odd widths: bigint.
      dec = (dv, off) => {
        const u = readWide(dv, off, size);
        return signed ? BigInt.asIntN(size * 8, u) : u;
      };
    }
  }
  return { dec, enc, size };
}

function readWide(dv: DataView, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(dv.getUint8(off + i));
  return v;
}
function writeWide(dv: DataView, off: number, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) {
    dv.setUint8(off + i, Number(v & 0xffn));
    v >>= 8n;
  }
}

function intPart(t: BtfInt): Part {
  if (t.bool) {
    const s = scalar(t.size, false, typeLabel(t));
    return {
      size: t.size,
      dec: (dv, off) => dv.getUint8(off) !== 0,
      enc: (v, dv, off, path) => {
        if (typeof v !== "boolean" && v !== 0 && v !== 1)
          throw new CodecError(path, `expected a boolean for ${typeLabel(t)}, got ${describe(v)}`);
        s.enc(v ? 1 : 0, dv, off, path);
      },
    };
  }
  return scalar(t.size, t.signed, typeLabel(t));
}

function enumPart(t: BtfEnum | BtfEnum64): Part {
  const s = scalar(t.size, t.signed, typeLabel(t));
  const byName = new Map<string, bigint>();
  for (const v of t.values) byName.set(v.name, BigInt(v.value));
  return {
    size: t.size,
    dec: s.dec,
    // Enum values may be given by name ("STATE_SEEN") or number.
    enc: (v, dv, off, path) => {
      if (typeof v === "string") {
        const n = byName.get(v);
        if (n === undefined) {
          const names = [...byName.keys()].join(", ");
          throw new CodecError(path, `"${v}" is not a value of ${typeLabel(t)} (expected one of ${names})`);
        }
        s.enc(t.size === 8 ? n : Number(n), dv, off, path);
      } else s.enc(v, dv, off, path);
    },
  };
}

function floatPart(size: number, id: number): Part {
  if (size !== 4 && size !== 8)
    throw new CodecError(`type #${id}`, `float of ${size} bytes is not supported (expected 4 or 8)`);
  return {
    size,
    dec: size === 4 ? (dv, off) => dv.getFloat32(off, true) : (dv, off) => dv.getFloat64(off, true),
    enc: (v, dv, off, path) => {
      if (typeof v !== "number") throw new CodecError(path, `expected a number, got ${describe(v)}`);
      if (size === 4) dv.setFloat32(off, v, true);
      else dv.setFloat64(off, v, true);
    },
  };
}

function u64Part(): Part {
  return scalar(8, false, "pointer");
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
