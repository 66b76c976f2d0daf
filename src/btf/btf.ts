// Raw BTF reader (include/uapi/linux/btf.h, Documentation/bpf/btf.rst). Pure: bytes
// in, objects out. Parsing is one pass that validates every record's length and
// records its byte offset; type objects are materialised lazily and cached, so
// opening the ~150k-type vmlinux BTF costs only the scan.
import { decodeType } from "./decode.ts";
import { BtfError } from "./errors.ts";
import { BTF_HEADER_LEN, BTF_MAGIC, BTF_VERSION } from "./layout.ts";
import { scanTypes } from "./scan.ts";
import { StringTable } from "./strings.ts";
import type { BtfKindName, BtfType, BtfVoid } from "./types.ts";
import { BTF_KIND_NAMES } from "./types.ts";

const VOID: BtfVoid = Object.freeze({ kind: "void", id: 0, name: "" }) as BtfVoid;
/** Pointer size of the BPF target (64-bit, like the kernel's btf_resolve_size). */
const PTR_SIZE = 8;
const EMPTY: readonly number[] = Object.freeze([]);
/** Kind-filtered scans answer this many lookups before the name index pays off. */
const SCANS_BEFORE_INDEX = 16;
const utf8Encoder = new TextEncoder();

/** Options of Btf.parse(). */
export interface BtfParseOptions {
  /** Base BTF for split (module) BTF. */
  base?: Btf;
  /** Used in error messages, usually the file path. */
  name?: string;
}

/** Parsed BTF: the type graph of a kernel (vmlinux, modules) or of a BPF object. Pure: no syscalls. */
export class Btf {
  readonly raw: Uint8Array;
  readonly name: string;
  readonly base: Btf | undefined;
  /** First type id described by this blob: 1 for base BTF, base.length for split BTF. */
  readonly firstId: number;
  /** Last type id + 1: valid ids are 0..length-1 (0 is void). */
  readonly length: number;
  /** BTF header fields, as read. */
  readonly header: {
    magic: number;
    version: number;
    flags: number;
    hdrLen: number;
    typeOff: number;
    typeLen: number;
    strOff: number;
    strLen: number;
  };
  /** @internal string table (with the base's offsets for split BTF). */
  readonly strings: StringTable;
  /** @internal little-endian view of `raw`. */
  readonly dv: DataView;
  /** Absolute byte offset of each own type record, indexed by id - firstId. */
  private readonly offsets: Int32Array;
  /** BTF_KIND_* of each own type, indexed by id - firstId. */
  private readonly kinds: Uint8Array;
  /**
   * Decoded types by id - firstId. A Map, not an array of `length`: a CO-RE run decodes
   * a few hundred of vmlinux's ~127k types, and a 1 MB array would sit in the old
   * generation of a cold process for nothing.
   */
  private readonly cache = new Map<number, BtfType>();
  /** Values other modules derive from this BTF alone (CO-RE's name index), kept with it. */
  private readonly derived = new Map<symbol, unknown>();
  private index: Map<string, number[]> | undefined;
  /** findByNameKind calls answered by a scan; past SCANS_BEFORE_INDEX the index is built. */
  private scans = 0;

  private constructor(bytes: Uint8Array, opts: BtfParseOptions) {
    const name = opts.name ?? opts.base?.name ?? "<btf>";
    const fail = (msg: string, offset?: number): never => {
      throw new BtfError(name, msg, { offset });
    };
    this.raw = bytes;
    this.name = name;
    this.base = opts.base;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.dv = dv;

    if (bytes.length < BTF_HEADER_LEN) {
      fail(`${bytes.length} bytes is too short for the BTF header (expected ≥ ${BTF_HEADER_LEN})`, 0);
    }
    const magic = dv.getUint16(0, true);
    if (magic !== BTF_MAGIC) {
      const hint = magic === 0x9feb ? " (big-endian BTF is not supported)" : "";
      fail(`magic 0x${magic.toString(16)}, expected 0xeb9f${hint}`, 0);
    }
    const version = bytes[2];
    if (version !== BTF_VERSION) fail(`version ${version}, expected ${BTF_VERSION}`, 2);
    const flags = bytes[3];
    const hdrLen = dv.getUint32(4, true);
    if (hdrLen < BTF_HEADER_LEN || hdrLen > bytes.length) {
      fail(`hdr_len ${hdrLen} out of range (expected ${BTF_HEADER_LEN}..${bytes.length})`, 4);
    }
    const typeOff = dv.getUint32(8, true);
    const typeLen = dv.getUint32(12, true);
    const strOff = dv.getUint32(16, true);
    const strLen = dv.getUint32(20, true);
    this.header = { magic, version, flags, hdrLen, typeOff, typeLen, strOff, strLen };
    // Section offsets are relative to the end of the header (kernel btf_parse_hdr).
    const data = bytes.length - hdrLen;
    if (typeOff % 4 !== 0) fail(`type_off ${typeOff} is not 4-byte aligned`, 8);
    if (typeOff + typeLen > data) {
      fail(`type section ${typeOff}+${typeLen} runs past the data (expected ≤ ${data} bytes)`, 8);
    }
    if (strOff + strLen > data) {
      fail(`string section ${strOff}+${strLen} runs past the data (expected ≤ ${data} bytes)`, 16);
    }
    const overlap = typeOff < strOff ? typeOff + typeLen > strOff : strOff + strLen > typeOff;
    if (typeLen > 0 && strLen > 0 && overlap) {
      fail(`type section ${typeOff}+${typeLen} overlaps string section ${strOff}+${strLen}`, 8);
    }

    // Strings (libbpf btf_parse_str_sec): base BTF needs a non-empty section starting
    // with the empty string; split BTF may have none. Any section must end in NUL.
    const strStart = hdrLen + strOff;
    const strBytes = bytes.subarray(strStart, strStart + strLen);
    if (strLen === 0 && !opts.base) fail("empty string section (expected at least the empty string)", 20);
    if (strLen > 0 && strBytes[strLen - 1] !== 0) {
      fail("string section does not end with NUL", strStart + strLen - 1);
    }
    if (!opts.base && strBytes[0] !== 0)
      fail("string section does not start with the empty string", strStart);
    this.strings = new StringTable(
      strBytes,
      opts.base ? opts.base.strings.end : 0,
      opts.base?.strings,
      name,
      strStart,
    );

    // One pass over the records: bounds and kinds only (scan.ts).
    this.firstId = opts.base ? opts.base.length : 1;
    const start = hdrLen + typeOff;
    const tables = scanTypes(bytes, dv, start, start + typeLen, this.firstId, name);
    const n = tables.offsets.length;
    this.offsets = tables.offsets;
    this.kinds = tables.kinds;
    this.length = this.firstId + n;
  }

  /**
   * A value derived from this BTF alone (an index, a memo table), made by `make` on first
   * use and kept as long as this Btf: the deriving module owns `key` and its meaning.
   */
  memo<T>(key: symbol, make: () => T): T {
    let v = this.derived.get(key) as T | undefined;
    if (v === undefined) {
      v = make();
      this.derived.set(key, v);
    }
    return v;
  }

  /** Parses raw BTF (a `.BTF` section, or a file such as /sys/kernel/btf/vmlinux). Throws BtfError naming the offset of anything malformed. */
  static parse(bytes: Uint8Array, opts: BtfParseOptions = {}): Btf {
    return new Btf(bytes, opts);
  }

  /** @internal BTF_KIND_* of each own type, indexed by id - firstId. Do not mutate. */
  get kindTable(): Uint8Array {
    return this.kinds;
  }

  /** @internal Byte offset in `raw` of each own type record, indexed by id - firstId. Do not mutate. */
  get offsetTable(): Int32Array {
    return this.offsets;
  }

  /** The type section bytes (for re-encoding). */
  get typesBytes(): Uint8Array {
    const s = this.header.hdrLen + this.header.typeOff;
    return this.raw.subarray(s, s + this.header.typeLen);
  }

  /** This blob's own string section bytes (offsets start at `strings.start`). */
  get stringsBytes(): Uint8Array {
    return this.strings.bytes;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id)) {
      // Usually the result of a lookup by name that found nothing (ids[0] of []).
      throw new BtfError(
        this.name,
        `type id ${id} is not a number (a type looked up by name and not found?)`,
      );
    }
    if (id < 0 || id >= this.length) {
      throw new BtfError(this.name, `type id ${id} out of range (expected 0..${this.length - 1})`);
    }
  }

  /** Byte offset of a type record inside `raw` (own ids only). */
  offsetOf(id: number): number {
    this.checkId(id);
    if (id < this.firstId) throw new BtfError(this.name, `type id ${id} belongs to the base BTF`);
    return this.offsets[id - this.firstId];
  }

  /** The type with this id (0 is void), decoded on first use. */
  type(id: number): BtfType {
    if (id === 0) return VOID;
    if (id < this.firstId && this.base && id > 0) return this.base.type(id);
    this.checkId(id);
    const i = id - this.firstId;
    let t = this.cache.get(i);
    if (t === undefined) {
      t = decodeType(this, id, this.offsets[i]);
      this.cache.set(i, t);
    }
    return t;
  }

  /** The kind of a type, without decoding it. */
  kind(id: number): BtfKindName {
    if (id === 0) return "void";
    if (id < this.firstId && this.base && id > 0) return this.base.kind(id);
    this.checkId(id);
    return BTF_KIND_NAMES[this.kinds[id - this.firstId]];
  }

  /** The name of a type without materialising it ("" for anonymous types and void). */
  nameOf(id: number): string {
    if (id === 0) return "";
    if (id < this.firstId && this.base && id > 0) return this.base.nameOf(id);
    this.checkId(id);
    const off = this.offsets[id - this.firstId];
    const nameOff = this.dv.getUint32(off, true);
    if (!this.strings.has(nameOff)) {
      throw new BtfError(this.name, `name offset ${nameOff} out of range (expected < ${this.strings.end})`, {
        typeId: id,
        offset: off,
      });
    }
    return this.strings.get(nameOff);
  }

  /** The string at offset `off` of the string section. */
  str(off: number): string {
    return this.strings.get(off);
  }

  /** Materialises every type, validating all string offsets and type references. */
  parseAll(): void {
    for (let id = this.firstId; id < this.length; id++) this.type(id);
  }

  private nameIndex(): Map<string, number[]> {
    if (this.index) return this.index;
    const index = new Map<string, number[]>();
    for (let id = this.firstId; id < this.length; id++) {
      const n = this.nameOf(id);
      if (n === "") continue;
      const ids = index.get(n);
      if (ids) ids.push(id);
      else index.set(n, [id]);
    }
    this.index = index;
    return index;
  }

  /** All ids with exactly this name, ascending, base ids first. Do not mutate the result. */
  findByName(name: string): number[] {
    const own = this.nameIndex().get(name);
    if (!this.base) return own ?? (EMPTY as number[]);
    const inBase = this.base.findByName(name);
    if (!own) return inBase;
    return inBase.length ? inBase.concat(own) : own;
  }

  /** Ids of the types of this kind with exactly this name (empty when there is none). */
  findByNameKind(name: string, kind: BtfKindName): number[] {
    // A few lookups (a tp_btf attach target, an extern) do not pay for the name index:
    // decoding every vmlinux name into a Map costs far more time and heap than a scan
    // of one kind comparing raw bytes (bench/README.md, "Measurements behind the code").
    if (this.index === undefined && this.scans < SCANS_BEFORE_INDEX) {
      this.scans++;
      const k = BTF_KIND_NAMES.indexOf(kind);
      const inBase = this.base ? this.base.findByNameKind(name, kind) : (EMPTY as number[]);
      const own = this.scanNameKind(utf8Encoder.encode(name), k);
      return inBase.length ? inBase.concat(own) : own;
    }
    const ids = this.findByName(name);
    const out: number[] = [];
    for (const id of ids) if (this.kind(id) === kind) out.push(id);
    return out;
  }

  /** Own ids of kind `k` whose name is exactly `want` (bytes), ascending; no string decoding. */
  private scanNameKind(want: Uint8Array, k: number): number[] {
    const out: number[] = [];
    if (want.length === 0 || k < 0) return out;
    const kinds = this.kinds;
    const offsets = this.offsets;
    const dv = this.dv;
    const own = this.strings;
    const first = want[0] as number;
    const len = want.length;
    for (let i = 0; i < kinds.length; i++) {
      if (kinds[i] !== k) continue;
      let off = dv.getUint32(offsets[i] as number, true);
      // Split BTF: a name offset below `start` lives in the base's string section.
      let table: StringTable | undefined = own;
      while (table && off < table.start) table = table.base;
      if (!table) continue;
      const sb = table.bytes;
      off -= table.start;
      // Out-of-range offsets read undefined and never match (nameOf reports them).
      if (sb[off] !== first || sb[off + len] !== 0) continue;
      let j = 1;
      while (j < len && sb[off + j] === want[j]) j++;
      if (j === len) out.push(this.firstId + i);
    }
    return out;
  }

  /** Follows a reference chain with a bound, so a cycle in bad BTF ends in BtfError. */
  private follow(id: number, skip: (k: BtfKindName) => boolean): number {
    let cur = id;
    for (let hops = 0; hops <= this.length; hops++) {
      if (!skip(this.kind(cur))) return cur;
      cur = (this.type(cur) as { type: number }).type;
    }
    throw new BtfError(this.name, `reference cycle starting at type #${id}`, { typeId: id });
  }

  /** Skips typedef, const, volatile, restrict and type_tag. */
  resolve(id: number): number {
    return this.follow(id, isTypedefOrModifier);
  }

  /** Skips const, volatile, restrict and type_tag (not typedefs). */
  skipModifiers(id: number): number {
    return this.follow(id, isModifier);
  }

  /** Size in bytes, per the kernel's btf_resolve_size(): arrays multiply, pointers are 8. */
  sizeof(id: number): number {
    let mult = 1;
    let cur = id;
    for (let hops = 0; hops <= this.length; hops++) {
      cur = this.resolve(cur);
      const t = this.type(cur);
      switch (t.kind) {
        case "int":
        case "struct":
        case "union":
        case "enum":
        case "enum64":
        case "datasec":
        case "float":
          return checkSize(this, id, mult * t.size);
        case "ptr":
          return checkSize(this, id, mult * PTR_SIZE);
        case "array":
          mult *= t.nelems;
          cur = t.type;
          continue;
        default:
          throw new BtfError(this.name, `${t.kind} has no size`, { typeId: cur });
      }
    }
    throw new BtfError(this.name, `reference cycle while sizing type #${id}`, { typeId: id });
  }

  /** Natural alignment in bytes, as libbpf's btf__align_of(). */
  alignof(id: number, depth = 0): number {
    if (depth > 64) throw new BtfError(this.name, `types nest too deeply while aligning type #${id}`);
    const t = this.type(this.resolve(id));
    switch (t.kind) {
      case "int":
      case "enum":
      case "enum64":
      case "float":
        return Math.max(1, Math.min(t.size, PTR_SIZE));
      case "ptr":
        return PTR_SIZE;
      case "array":
        return this.alignof(t.type, depth + 1);
      case "struct":
      case "union": {
        let max = 1;
        for (const m of t.members) {
          const a = this.alignof(m.type, depth + 1);
          // A member placed off its natural alignment means the struct is packed.
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
          if (a > max) max = a;
        }
        if (t.size % max !== 0) return 1;
        return max;
      }
      default:
        throw new BtfError(this.name, `${t.kind} has no alignment`, { typeId: t.id });
    }
  }
}

function isModifier(k: BtfKindName): boolean {
  return k === "const" || k === "volatile" || k === "restrict" || k === "type_tag";
}
function isTypedefOrModifier(k: BtfKindName): boolean {
  return k === "typedef" || isModifier(k);
}
function checkSize(btf: Btf, id: number, size: number): number {
  if (size > 0xffffffff) {
    throw new BtfError(btf.name, `size ${size} exceeds the u32 limit`, { typeId: id });
  }
  return size;
}
