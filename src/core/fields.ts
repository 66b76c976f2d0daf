// The value a CO-RE relocation resolves to, computed from one spec (local or target)
// by libbpf's rules (relo_core.c bpf_core_calc_field_relo, bpf_core_calc_type_relo,
// bpf_core_calc_enumval_relo). Values are u64 (bigint), as in struct bpf_core_relo_res.
import { BPF_CORE } from "../btf/ext.ts";
import type { CoreAccessor, CoreSpec } from "./spec.ts";

/** A relocation that cannot be computed at all (libbpf returns an error, not a poison). */
export class CoreCalcError extends Error {}

export interface FieldValue {
  value: bigint;
  /** Memory size of the accessed field (for load/store size adjustment); 0 when not relevant. */
  size: number;
  /** Type id of the accessed field (skipping modifiers and typedefs), 0 when not relevant. */
  typeId: number;
  /** Whether the instruction's current value must equal the local value. */
  validate: boolean;
}

/** Returns undefined when the relocation must be poisoned (no target and a value is needed). */
export function calcFieldValue(kind: number, spec: CoreSpec | undefined): FieldValue | undefined {
  if (kind === BPF_CORE.FIELD_EXISTS) return { value: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  if (!spec) return undefined;
  const btf = spec.btf;
  const acc = spec.access[spec.access.length - 1] as CoreAccessor;
  if (acc.name === undefined) {
    // The last step is the root or an array element: a[n].
    if (kind === BPF_CORE.FIELD_BYTE_OFFSET) {
      return {
        value: BigInt(spec.bitOffset / 8),
        size: btf.sizeof(acc.typeId),
        typeId: acc.typeId,
        validate: true,
      };
    }
    if (kind === BPF_CORE.FIELD_BYTE_SIZE) {
      return { value: BigInt(btf.sizeof(acc.typeId)), size: 0, typeId: 0, validate: true };
    }
    throw new CoreCalcError(`${kindLabel(kind)} cannot be applied to an array element or the root`);
  }
  const holder = btf.type(acc.typeId);
  if (holder.kind !== "struct" && holder.kind !== "union")
    throw new CoreCalcError(`accessor on ${holder.kind}`);
  const m = holder.members[acc.idx] as (typeof holder.members)[number];
  const fieldTypeId = btf.resolve(m.type);
  const mt = btf.type(fieldTypeId);
  const bitOff = spec.bitOffset;
  let bitSz = m.bitfieldSize;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    // Smallest naturally aligned load, starting from the declared type's size, that
    // covers every bit of the field.
    byteSz = (mt as { size?: number }).size ?? 0;
    if (byteSz <= 0) throw new CoreCalcError(`bitfield of ${mt.kind} type has no size`);
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8)
        throw new CoreCalcError(
          `bitfield at bit ${bitOff} (${bitSz} bits) cannot be read with a 64-bit load`,
        );
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = btf.sizeof(fieldTypeId);
    byteOff = bitOff / 8;
    bitSz = byteSz * 8;
  }
  // Bitfield placement is ambiguous between compiler and us: only signedness and the
  // right shift are checked against the instruction (libbpf turns validation off).
  let validate = !bitfield;
  let value: bigint;
  let size = 0;
  let typeId = 0;
  switch (kind) {
    case BPF_CORE.FIELD_BYTE_OFFSET:
      value = BigInt(byteOff);
      if (!bitfield) {
        size = byteSz;
        typeId = fieldTypeId;
      }
      break;
    case BPF_CORE.FIELD_BYTE_SIZE:
      value = BigInt(byteSz);
      break;
    case BPF_CORE.FIELD_SIGNED:
      value =
        ((mt.kind === "enum" || mt.kind === "enum64") && mt.signed) || (mt.kind === "int" && mt.signed)
          ? 1n
          : 0n;
      validate = true;
      break;
    case BPF_CORE.FIELD_LSHIFT_U64:
      // Little-endian: shift the field's top bit up to bit 63.
      value = BigInt(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case BPF_CORE.FIELD_RSHIFT_U64:
      value = BigInt(64 - bitSz);
      validate = true;
      break;
    default:
      throw new CoreCalcError(`unsupported field relocation kind ${kind}`);
  }
  return { value, size, typeId, validate };
}

/** Type relocations: 0 when the type is absent in the target. */
export function calcTypeValue(
  kind: number,
  spec: CoreSpec | undefined,
): { value: bigint; validate: boolean } {
  if (!spec) return { value: 0n, validate: true };
  switch (kind) {
    case BPF_CORE.TYPE_ID_TARGET:
    case BPF_CORE.TYPE_ID_LOCAL:
      // Type ids shift when objects are linked, so they are never validated.
      return { value: BigInt(spec.rootTypeId), validate: false };
    case BPF_CORE.TYPE_EXISTS:
    case BPF_CORE.TYPE_MATCHES:
      return { value: 1n, validate: true };
    case BPF_CORE.TYPE_SIZE:
      return { value: BigInt(spec.btf.sizeof(spec.rootTypeId)), validate: true };
    default:
      throw new CoreCalcError(`unsupported type relocation kind ${kind}`);
  }
}

/** Enum relocations; undefined when ENUMVAL_VALUE has no target (poison). */
export function calcEnumValue(kind: number, spec: CoreSpec | undefined): bigint | undefined {
  if (kind === BPF_CORE.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (kind !== BPF_CORE.ENUMVAL_VALUE) throw new CoreCalcError(`unsupported enum relocation kind ${kind}`);
  if (!spec) return undefined;
  const acc = spec.access[0] as CoreAccessor;
  const t = spec.btf.type(acc.typeId);
  if (t.kind === "enum") {
    // btf_enum.val is an s32: libbpf widens it to u64 with sign extension.
    const v = (t.values[acc.idx] as { value: number }).value | 0;
    return BigInt.asUintN(64, BigInt(v));
  }
  if (t.kind === "enum64") return BigInt.asUintN(64, (t.values[acc.idx] as { value: bigint }).value);
  throw new CoreCalcError(`enumerator accessor on ${t.kind}`);
}

function kindLabel(kind: number): string {
  return (
    ["byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64"][kind] ?? `kind ${kind}`
  );
}
