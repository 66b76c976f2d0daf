// Scalar parts of the BTF value codec (src/btf/codec.ts): ints, bools, enums (by name
// or number), floats and pointers, little-endian as on the BPF target. Each part is a
// compiled decode/encode closure pair; encoders check the range of the C type.
import { TsbpfError } from "../errors.ts";
import type { BtfEnum, BtfEnum64, BtfInt, BtfType } from "./types.ts";

/** A value does not fit its BTF type, or bytes are too short for it; `path` names the field. */
export class CodecError extends TsbpfError {
  /** Field path such as "value.samples[2]". */
  readonly path: string;
  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.path = path;
  }
}

export type Dec = (dv: DataView, off: number) => unknown;
export type Enc = (v: unknown, dv: DataView, off: number, path: string) => void;
export interface Part {
  dec: Dec;
  enc: Enc;
  size: number;
}

export function typeLabel(t: BtfType): string {
  return t.name ? `${t.kind} ${t.name}` : t.kind;
}

export function checkInt(v: unknown, path: string, min: bigint, max: bigint, label: string): bigint {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
  else if (typeof v === "boolean") b = v ? 1n : 0n;
  else throw new CodecError(path, `expected an integer for ${label}, got ${describe(v)}`);
  if (b < min || b > max) throw new CodecError(path, `${b} does not fit ${label} (${min}..${max})`);
  return b;
}

export function describe(v: unknown): string {
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
export function scalar(size: number, signed: boolean, label: string): Part {
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

export function readWide(dv: DataView, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(dv.getUint8(off + i));
  return v;
}
export function writeWide(dv: DataView, off: number, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) {
    dv.setUint8(off + i, Number(v & 0xffn));
    v >>= 8n;
  }
}

export function intPart(t: BtfInt): Part {
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

export function enumPart(t: BtfEnum | BtfEnum64): Part {
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

export function floatPart(size: number, id: number): Part {
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

export function u64Part(): Part {
  return scalar(8, false, "pointer");
}
