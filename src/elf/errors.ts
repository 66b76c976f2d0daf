// Errors for malformed or unsupported ELF objects. Every message names the file,
// the byte offset (hex) of the offending field and what was expected, so a user
// can look at the bytes with `xxd` or `llvm-readelf` and act.
import { TsbpfError } from "../errors.ts";

/** A malformed or unsupported ELF object: the message names the file, section and offset. */
export class ElfError extends TsbpfError {
  /** File name as given to the parser. */
  readonly file: string;
  /** Byte offset of the offending field, when there is one. */
  readonly offset: number | undefined;
  constructor(file: string, offset: number | undefined, what: string) {
    super(`${file}: ${what}`);
    this.file = file;
    this.offset = offset;
  }
}

/** `0x1a40` */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}
