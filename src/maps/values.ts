// Keys and values of a BpfMap as bytes: a Uint8Array of the exact size, a plain
// integer for 1/2/4/8-byte scalars, or a JS value through the map's BTF codec. Per-CPU
// maps carry one value per possible CPU, each in a slot rounded up to 8 bytes
// (bpf_map_value_size() in kernel/bpf/syscall.c).
import type { Codec } from "../btf/codec.ts";
import { TsbpfError } from "../errors.ts";

/** A key or value that does not fit the map, or a map that is closed. */
export class MapError extends TsbpfError {}

/** How one value buffer is laid out: one slot, or `nValues` per-CPU slots `stride` apart. */
export interface ValueLayout {
  readonly valueSize: number;
  readonly perCpu: boolean;
  readonly nValues: number;
  readonly stride: number;
  readonly codec: Codec | undefined;
}

/** Per-CPU slot size: the kernel rounds each CPU's value up to 8 bytes. */
export const round8 = (n: number) => (n + 7) & ~7;

function isArrayType(c: Codec, v: unknown[]): boolean {
  // A codec for an array type accepts a JS array of its element count as ONE value.
  try {
    c.encode(v);
    return true;
  } catch {
    return false;
  }
}

/** Write a key or value into `out` (exactly `size` bytes). */
export function writeBytes(
  v: unknown,
  out: Uint8Array,
  size: number,
  codec: Codec | undefined,
  what: string,
): void {
  if (v instanceof Uint8Array) {
    if (v.byteLength !== size) throw new MapError(`${what}: ${v.byteLength} bytes given, expected ${size}`);
    out.set(v);
    return;
  }
  if (codec) {
    codec.encode(v, out);
    return;
  }
  if (
    (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") &&
    [1, 2, 4, 8].includes(size)
  ) {
    const b = typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v);
    if (typeof v === "number" && !Number.isInteger(v)) throw new MapError(`${what}: ${v} is not an integer`);
    const bits = BigInt(size * 8);
    if (b < -(1n << (bits - 1n)) || b >= 1n << bits)
      throw new MapError(`${what}: ${v} does not fit ${size} bytes`);
    const dv = new DataView(out.buffer, out.byteOffset, size);
    if (size === 8) dv.setBigUint64(0, BigInt.asUintN(64, b), true);
    else if (size === 4) dv.setUint32(0, Number(BigInt.asUintN(32, b)), true);
    else if (size === 2) dv.setUint16(0, Number(BigInt.asUintN(16, b)), true);
    else dv.setUint8(0, Number(BigInt.asUintN(8, b)));
    return;
  }
  throw new MapError(
    `${what}: cannot encode ${typeof v} without BTF (give a Uint8Array of ${size} bytes, an integer for 1/2/4/8-byte values, or create the map with { btf })`,
  );
}

/** Read a key or value: decoded through BTF when the map has a codec, else a copy of the bytes. */
export function readBytes(buf: Uint8Array, size: number, codec: Codec | undefined): unknown {
  if (codec) return codec.decode(new DataView(buf.buffer, buf.byteOffset, size));
  return buf.slice(0, size);
}

/**
 * Write a map value into `buf`. Per-CPU: an array of one value per possible CPU, or a
 * single value copied to every CPU (an array-typed BTF value counts as one value).
 */
export function packValue(value: unknown, buf: Uint8Array, l: ValueLayout, what: string): void {
  if (!l.perCpu) {
    writeBytes(value, buf, l.valueSize, l.codec, what);
    return;
  }
  const many = Array.isArray(value) && !(l.codec && isArrayType(l.codec, value));
  if (many && value.length !== l.nValues) {
    throw new MapError(
      `${what}: per-CPU map needs ${l.nValues} values (one per possible CPU), got ${value.length}`,
    );
  }
  buf.fill(0);
  for (let i = 0; i < l.nValues; i++) {
    const slot = buf.subarray(i * l.stride, i * l.stride + l.valueSize);
    writeBytes(many ? (value as unknown[])[i] : value, slot, l.valueSize, l.codec, `${what}[cpu ${i}]`);
  }
}

/** Read a map value from `buf`: one value, or an array of one per possible CPU. */
export function unpackValue(buf: Uint8Array, l: ValueLayout): unknown {
  if (!l.perCpu) return readBytes(buf, l.valueSize, l.codec);
  const out = new Array(l.nValues);
  for (let i = 0; i < l.nValues; i++) out[i] = readBytes(buf.subarray(i * l.stride), l.valueSize, l.codec);
  return out;
}
