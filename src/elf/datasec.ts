// DATASEC fix-up, as libbpf's btf_fixup_datasec() does at open time: clang emits
// every DATASEC with size 0 and its variables at offset 0, because only the ELF
// section and symbol table know the final layout. We patch our private copy of
// .BTF so that the spec's BTF (the one the loader sends with BPF_BTF_LOAD and that
// inspect prints) carries real sizes and offsets:
//   - a DATASEC backed by an ELF section gets that section's size, and each VAR
//     the st_value of its symbol in that section;
//   - `.kconfig` gets the layout chosen for the kconfig externs (see externs.ts).
import { Btf } from "../btf/btf.ts";
import { BTF_TYPE_LEN } from "../btf/layout.ts";
import type { ExternSpec } from "../spec.ts";
import { type ElfFile, STT_NOTYPE, STT_OBJECT } from "./elf.ts";

const SECINFO_LEN = 12;

/** Patches `btf.raw` (which must be a private copy) and returns a freshly parsed Btf over it. */
export function fixupDatasecs(btf: Btf, elf: ElfFile, externs: ExternSpec[], name: string): Btf {
  const raw = btf.raw;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const kconfig = new Map(externs.filter((e) => e.kind === "kconfig").map((e) => [e.name, e]));
  let changed = false;
  for (let id = btf.firstId; id < btf.length; id++) {
    if (btf.kind(id) !== "datasec") continue;
    const secName = btf.nameOf(id);
    const off = btf.offsetOf(id);
    const vlen = dv.getUint32(off + 4, true) & 0xffff;
    const varName = (i: number) => btf.nameOf(dv.getUint32(off + BTF_TYPE_LEN + i * SECINFO_LEN, true));
    const setOffset = (i: number, v: number) =>
      dv.setUint32(off + BTF_TYPE_LEN + i * SECINFO_LEN + 4, v, true);
    if (secName === ".kconfig" && kconfig.size > 0) {
      let end = 0;
      for (let i = 0; i < vlen; i++) {
        const e = kconfig.get(varName(i));
        if (!e) continue;
        setOffset(i, e.offset);
        end = Math.max(end, e.offset + e.size);
      }
      dv.setUint32(off + 8, end, true);
      changed = true;
      continue;
    }
    const sec = elf.sections.find((s) => s.name === secName);
    if (!sec) continue;
    dv.setUint32(off + 8, sec.size, true);
    for (let i = 0; i < vlen; i++) {
      const n = varName(i);
      const sym = elf.symbols.find(
        (s) => s.shndx === sec.index && s.name === n && (s.type === STT_OBJECT || s.type === STT_NOTYPE),
      );
      if (sym && sym.value <= 0xffffffff) setOffset(i, sym.value);
    }
    changed = true;
  }
  return changed ? Btf.parse(raw, { name }) : btf;
}
