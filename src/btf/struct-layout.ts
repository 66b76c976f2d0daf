// The memory layout of a struct or union from its BTF, as pahole shows it: each member
// with its byte offset and size, bitfields with their storage unit and bit position,
// the holes between members and the padding at the end. Anonymous structs and unions
// are expanded inline (they are part of the parent's layout, as in the C source).
// Pure: BTF in, plain data out.
import type { Btf } from "./btf.ts";
import { BtfError } from "./errors.ts";
import { formatDecl } from "./format.ts";

/** pahole's cache line size for its "cacheline N boundary" marks (x86-64, arm64). */
export const CACHELINE = 64;

export interface MemberLayout {
  /** "" for an unnamed member (an anonymous struct/union laid out inline). */
  name: string;
  /** The C declaration without the semicolon: `unsigned int flags`, `char comm[16]`. */
  decl: string;
  /** Byte offset from the start of the outermost struct (of the storage unit, for a bitfield). */
  offset: number;
  /** Bytes (of the storage unit, for a bitfield: the size of its type). */
  size: number;
  /** Bitfield: width in bits and position of its lowest bit in the storage unit. */
  bitfield?: { bits: number; bitOffset: number };
  /** Unused space between the previous member's end and this member (structs only). */
  holeBefore?: { bytes: number; bits: number };
  /** The layout of an anonymous struct/union member, inline. */
  nested?: StructLayout;
}

export interface StructLayout {
  kind: "struct" | "union";
  name: string;
  id: number;
  /** Byte offset of this (possibly nested) aggregate from the outermost one. */
  offset: number;
  size: number;
  members: MemberLayout[];
  /** Bytes after the last member's end up to `size`. */
  padding: number;
  /** Totals over this aggregate's own members (nested anonymous ones included). */
  totals: {
    members: number;
    /** Bytes of non-bitfield members. */
    sumMembers: number;
    holes: number;
    sumHoles: number;
    bitfieldBits: number;
    bitHoles: number;
    sumBitHoles: number;
  };
}

/** Storage unit of a bitfield as pahole prints it: the aligned unit of its type's size. */
function storage(bitOffset: number, bits: number, size: number): { offset: number; bit: number } {
  const unit = size * 8;
  const start = Math.floor(bitOffset / unit) * unit;
  // A bitfield that straddles its unit (packed structs): count from its byte instead.
  if (size === 0 || bitOffset - start + bits > unit)
    return { offset: Math.floor(bitOffset / 8), bit: bitOffset % 8 };
  return { offset: start / 8, bit: bitOffset - start };
}

/** The layout of struct/union `id` (typedefs and modifiers are looked through). */
export function structLayout(btf: Btf, id: number, baseOffset = 0, depth = 0): StructLayout {
  if (depth > 32)
    throw new BtfError(btf.name, "anonymous members nest too deeply (a cycle?)", { typeId: id });
  const rid = btf.skipModifiers(btf.resolve(id));
  const t = btf.type(rid);
  if (t.kind !== "struct" && t.kind !== "union")
    throw new BtfError(btf.name, `type is a ${t.kind}, not a struct or union`, { typeId: id });
  const out: StructLayout = {
    kind: t.kind,
    name: t.name,
    id: rid,
    offset: baseOffset,
    size: t.size,
    members: [],
    padding: 0,
    totals: {
      members: 0,
      sumMembers: 0,
      holes: 0,
      sumHoles: 0,
      bitfieldBits: 0,
      bitHoles: 0,
      sumBitHoles: 0,
    },
  };
  let endBits = 0;
  let maxEndBits = 0;
  /** End of the last member's storage unit when it was a bitfield, else 0. */
  let unitEndBits = 0;
  for (const m of t.members) {
    const mt = btf.type(btf.skipModifiers(m.type));
    const size = btf.sizeof(m.type);
    const bits = m.bitfieldSize || size * 8;
    // A member whose type is an anonymous struct/union (`union { ... };` or
    // `struct { ... } batch;`) is laid out inline, as in the C source and in pahole.
    const anonymous = (mt.kind === "struct" || mt.kind === "union") && mt.name === "";
    const row: MemberLayout = {
      name: m.name,
      decl: anonymous ? mt.kind : formatDecl(btf, m.type, m.name),
      offset: baseOffset + Math.floor(m.bitOffset / 8),
      size,
    };
    if (m.bitfieldSize) {
      const s = storage(m.bitOffset, m.bitfieldSize, size);
      row.offset = baseOffset + s.offset;
      row.bitfield = { bits: m.bitfieldSize, bitOffset: s.bit };
      out.totals.bitfieldBits += m.bitfieldSize;
    } else out.totals.sumMembers += size;
    if (t.kind === "struct" && m.bitOffset > endBits) {
      // After a bitfield, the rest of its storage unit is a bit hole (as pahole counts
      // it); only the space past the unit is a byte hole.
      const bitsEnd = Math.min(m.bitOffset, Math.max(unitEndBits, endBits));
      const bitHole = unitEndBits > endBits ? bitsEnd - endBits : 0;
      const rest = m.bitOffset - endBits - bitHole;
      row.holeBefore = { bytes: Math.floor(rest / 8), bits: bitHole + (rest % 8) };
      if (row.holeBefore.bytes) {
        out.totals.holes++;
        out.totals.sumHoles += row.holeBefore.bytes;
      }
      if (row.holeBefore.bits) {
        out.totals.bitHoles++;
        out.totals.sumBitHoles += row.holeBefore.bits;
      }
    }
    if (anonymous) row.nested = structLayout(btf, mt.id, row.offset, depth + 1);
    out.totals.members++;
    out.members.push(row);
    endBits = Math.max(endBits, m.bitOffset + bits);
    unitEndBits = row.bitfield ? (row.offset - baseOffset + size) * 8 : 0;
    maxEndBits = Math.max(maxEndBits, m.bitOffset + bits);
  }
  out.padding = Math.max(0, t.size - Math.ceil(maxEndBits / 8));
  return out;
}

/**
 * The struct or union called `name` (`struct task_struct`, `task_struct`, or a typedef
 * of one): its id, or the kind a type of that name has instead, or undefined when no
 * type has the name.
 */
export function findAggregate(btf: Btf, name: string): { id: number } | { other: string } | undefined {
  const m = /^(struct|union)\s+(\S+)$/.exec(name.trim());
  const bare = m ? (m[2] as string) : name.trim();
  const kinds = m ? [m[1] as "struct" | "union"] : (["struct", "union"] as const);
  for (const k of kinds) {
    const ids = btf.findByNameKind(bare, k);
    if (ids.length) return { id: ids[0] as number };
  }
  if (m) return btf.findByNameKind(bare, "fwd").length ? { other: "forward declaration" } : undefined;
  const td = btf.findByNameKind(bare, "typedef")[0];
  if (td !== undefined) {
    const k = btf.type(btf.skipModifiers(btf.resolve(td))).kind;
    return k === "struct" || k === "union" ? { id: td } : { other: `typedef of a ${k}` };
  }
  for (const k of ["enum", "enum64", "func", "var", "int", "fwd"] as const) {
    if (btf.findByNameKind(bare, k).length) return { other: k === "fwd" ? "forward declaration" : k };
  }
  return undefined;
}
