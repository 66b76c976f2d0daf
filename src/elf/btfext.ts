// TEMPORARY: filled in when src/btf/ext.ts lands.
import type { Btf } from "../btf/btf.ts";
import type { BtfExt } from "../btf/ext.ts";
import type { FunctionSpec } from "../spec.ts";
import type { ElfFile } from "./elf.ts";

export function attachBtfExt(
  _bytes: Uint8Array,
  _btf: Btf,
  _path: string,
  _elf: ElfFile,
  _functions: Map<number, FunctionSpec[]>,
): BtfExt | undefined {
  return undefined;
}
