// loadCollectionSpec: the file-reading twin of readCollectionSpec (src/elf stays pure,
// bytes in and specs out; this module does the I/O), as cilium/ebpf's
// LoadCollectionSpec is for NewCollectionSpec's reader.
import { readObjectFile } from "../assets.ts";
import { readCollectionSpec } from "../elf/collection.ts";
import type { CollectionSpec } from "../spec.ts";

/**
 * Reads and parses a BPF object (an ELF file from `clang -target bpf`) into its
 * CollectionSpec: programs, maps, global data and BTF as plain data, with no syscall.
 * Edit the spec if needed (map sizes, for example), then hand it to loadCollection().
 * `src` is a file path or the object's bytes. Throws AssetError when the file cannot be
 * read and ElfError / BtfError, naming the place, when its contents are malformed.
 */
export function loadCollectionSpec(src: string | Uint8Array): CollectionSpec {
  if (typeof src !== "string") return readCollectionSpec(src, "<bytes>");
  const { bytes, path } = readObjectFile(src);
  return readCollectionSpec(bytes, path);
}
