// Extern symbols: `extern ... __kconfig` variables (values the loader fills into the
// .kconfig map) and `__ksym` variables/functions (resolved against kernel BTF).
// Rules follow libbpf's bpf_object__collect_externs(): an extern is an undefined
// STT_NOTYPE symbol with global or weak binding; its BTF VAR/FUNC (extern linkage)
// sits in the `.kconfig` or `.ksyms` DATASEC; kconfig externs are laid out sorted by
// alignment (descending), size (ascending) and name, each at its natural alignment.
import type { Btf } from "../btf/btf.ts";
import type { ExternSpec } from "../spec.ts";
import { type ElfFile, type ElfSymbol, SHN_UNDEF, STB_GLOBAL, STB_WEAK, STT_NOTYPE } from "./elf.ts";
import { ElfError } from "./errors.ts";

/** BTF_VAR_GLOBAL_EXTERN and BTF_FUNC_EXTERN share the value 2. */
const BTF_LINKAGE_EXTERN = 2;

const SIZED = new Set(["int", "ptr", "array", "struct", "union", "enum", "enum64", "float"]);

/** Upper bound for one kconfig extern (see the size check in readExterns). */
const MAX_KCONFIG_VALUE = 1 << 16;
export function isExternSymbol(s: ElfSymbol): boolean {
  return (
    s.shndx === SHN_UNDEF &&
    (s.bind === STB_GLOBAL || s.bind === STB_WEAK) &&
    s.type === STT_NOTYPE &&
    s.name !== ""
  );
}

export interface Externs {
  externs: ExternSpec[];
  /** Size of the .kconfig map value (0 when there are no kconfig externs). */
  kconfigSize: number;
}

export function readExterns(elf: ElfFile, btf: Btf | undefined): Externs {
  const syms = elf.symbols.filter(isExternSymbol);
  if (syms.length === 0) return { externs: [], kconfigSize: 0 };
  if (!btf) {
    throw new ElfError(
      elf.name,
      undefined,
      `extern '${syms[0]?.name}' needs BTF to be resolved, but the object has no .BTF section (compile with -g)`,
    );
  }
  // DATASEC membership: var/func id → section name.
  const secOf = new Map<number, string>();
  for (const sec of [".kconfig", ".ksyms"]) {
    for (const id of btf.findByNameKind(sec, "datasec")) {
      const ds = btf.type(id);
      if (ds.kind === "datasec") for (const vi of ds.vars) secOf.set(vi.type, sec);
    }
  }
  const kcfg: { spec: ExternSpec; align: number }[] = [];
  const ksym: ExternSpec[] = [];
  for (const s of syms) {
    const id = [...btf.findByNameKind(s.name, "var"), ...btf.findByNameKind(s.name, "func")].find((i) => {
      const t = btf.type(i);
      return (t.kind === "var" || t.kind === "func") && t.linkage === BTF_LINKAGE_EXTERN;
    });
    if (id === undefined) {
      throw new ElfError(
        elf.name,
        undefined,
        `extern '${s.name}' (symbol ${s.index}) has no BTF VAR or FUNC with extern linkage`,
      );
    }
    const t = btf.type(id);
    const sec = secOf.get(id) ?? (t.kind === "func" ? ".ksyms" : undefined);
    const weak = s.bind === STB_WEAK;
    if (sec === ".kconfig") {
      if (t.kind !== "var")
        throw new ElfError(elf.name, undefined, `extern function '${s.name}' cannot be in .kconfig`);
      const size = btf.sizeof(t.type);
      const align = btf.alignof(t.type);
      if (size <= 0 || align <= 0)
        throw new ElfError(elf.name, undefined, `kconfig extern '${s.name}' has no usable size`);
      // Kconfig values are bools, tristates, integers and strings (char arrays): a few
      // bytes to a few hundred. The .kconfig map is one array value, which the loader
      // allocates here; a size like 2 GiB can only come from a damaged BTF.
      if (size > MAX_KCONFIG_VALUE)
        throw new ElfError(
          elf.name,
          undefined,
          `kconfig extern '${s.name}' is ${size} bytes: larger than any kconfig value (max ${MAX_KCONFIG_VALUE})`,
        );
      kcfg.push({ spec: { name: s.name, kind: "kconfig", btfId: id, offset: 0, size, weak }, align });
    } else if (sec === ".ksyms") {
      // A ksym VAR may be `void` (only its address is used); size is informational.
      const sized = t.kind === "var" && SIZED.has(btf.kind(btf.resolve(t.type)));
      const size = sized && t.kind === "var" ? btf.sizeof(t.type) : 0;
      ksym.push({ name: s.name, kind: "ksym", btfId: id, offset: 0, size, weak });
    } else {
      throw new ElfError(
        elf.name,
        undefined,
        `extern '${s.name}' is not in a .kconfig or .ksyms section; declare it with __kconfig or __ksym`,
      );
    }
  }
  kcfg.sort(
    (a, b) =>
      b.align - a.align ||
      a.spec.size - b.spec.size ||
      (a.spec.name < b.spec.name ? -1 : a.spec.name > b.spec.name ? 1 : 0),
  );
  let off = 0;
  for (const k of kcfg) {
    k.spec.offset = Math.ceil(off / k.align) * k.align;
    off = k.spec.offset + k.spec.size;
  }
  ksym.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { externs: [...kcfg.map((k) => k.spec), ...ksym], kconfigSize: off };
}
