/**
 * `tsbpf/btf`: the BTF reader, printer and value codecs on their own (no kernel, no
 * syscalls): parse `/sys/kernel/btf/vmlinux` or an object's `.BTF`, look types up by
 * name, print them as C, and turn BTF-described bytes into JS values and back.
 * @packageDocumentation
 */
export { Btf, type BtfParseOptions } from "./btf.ts";
export { type Codec, CodecError, type CodecOptions, enumName, makeCodec } from "./codec.ts";
export { BtfError } from "./errors.ts";
export { formatType, formatTypeDecl } from "./format.ts";
export type { BtfKindName, BtfMember, BtfType } from "./types.ts";
