// The BTF string section: NUL-terminated strings addressed by byte offset
// (Documentation/bpf/btf.rst "String Encoding"). Split BTF continues the offsets of
// its base: an offset below `start` belongs to the base (libbpf btf__str_by_offset).
import { BtfError } from "./errors.ts";

// When the section is pure ASCII (the usual case) one UTF-8 decode of the whole
// section maps byte offsets 1:1 to string indexes, so each lookup is an indexOf and a
// slice. Otherwise each string is decoded on its own (and cached).
const utf8 = new TextDecoder("utf-8");

export class StringTable {
  /** First offset owned by this table (0 for base BTF). */
  readonly start: number;
  readonly bytes: Uint8Array;
  private readonly text: string;
  private readonly ascii: boolean;
  private readonly utf8Cache = new Map<number, string>();

  constructor(
    bytes: Uint8Array,
    start: number,
    /** @internal the base BTF's table, for split BTF. */
    readonly base: StringTable | undefined,
    private readonly file: string,
    /** Offset of the section inside the BTF blob, for error messages. */
    private readonly blobOffset: number,
  ) {
    this.bytes = bytes;
    this.start = start;
    const text = utf8.decode(bytes);
    // Every multi-byte UTF-8 sequence shortens the text and every invalid byte becomes
    // U+FFFD, so equal lengths and no U+FFFD mean each byte is one ASCII character.
    this.ascii = text.length === bytes.length && text.indexOf("\uFFFD") < 0;
    this.text = this.ascii ? text : "";
  }

  /** One past the last offset this table (with its base) can resolve. */
  get end(): number {
    return this.start + this.bytes.length;
  }

  has(off: number): boolean {
    return Number.isInteger(off) && off >= 0 && off < this.end;
  }

  get(off: number): string {
    if (off < this.start) {
      if (this.base && off >= 0) return this.base.get(off);
      if (off === 0) return "";
    }
    const rel = off - this.start;
    if (!(rel >= 0 && rel < this.bytes.length) || !Number.isInteger(off)) {
      throw new BtfError(this.file, `string offset ${off} out of range (expected < ${this.end})`, {
        offset: this.blobOffset,
      });
    }
    // The section is known to end in NUL (checked by the caller), so this terminates.
    if (this.ascii) return this.text.slice(rel, this.text.indexOf("\0", rel));
    const end = this.bytes.indexOf(0, rel);
    const hit = this.utf8Cache.get(rel);
    if (hit !== undefined) return hit;
    const s = utf8.decode(this.bytes.subarray(rel, end));
    this.utf8Cache.set(rel, s);
    return s;
  }
}
