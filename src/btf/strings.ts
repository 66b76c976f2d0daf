// The BTF string section: NUL-terminated strings addressed by byte offset
// (Documentation/bpf/btf.rst "String Encoding"). Split BTF continues the offsets of
// its base: an offset below `start` belongs to the base (libbpf btf__str_by_offset).
//
// Strings are decoded one at a time, when asked for. vmlinux's section is 2.3 MB and
// a CO-RE run reads a few thousand of its strings: decoding it whole up front put a
// large string on a cold process's old-generation heap and a full GC into the load
// (bench/README.md, "Measurements behind the code").
import { BtfError } from "./errors.ts";

interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

export class StringTable {
  /** First offset owned by this table (0 for base BTF). */
  readonly start: number;
  readonly bytes: Uint8Array;
  /**
   * The same bytes as a Buffer (no copy). Its utf8Slice (the native half of
   * Buffer#toString, on Buffer.prototype since Node 0.x) decodes one string; going
   * through toString's argument handling cost 60% more per string in a cold run.
   */
  private readonly buf: Utf8Slicer;

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
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as Utf8Slicer;
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
    // The section is known to end in NUL (checked by the caller), so this finds one.
    // Invalid UTF-8 decodes to U+FFFD, as TextDecoder does.
    return this.buf.utf8Slice(rel, this.bytes.indexOf(0, rel));
  }
}
