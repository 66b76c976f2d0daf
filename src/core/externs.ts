// Resolves `.kconfig` and `__ksym` externs against the running kernel.
import type { Btf } from "../btf/btf.ts";
import type { CollectionSpec } from "../spec.ts";

export interface KsymResolution {
  btfId: number;
  /** 0 for vmlinux, else the fd of the module BTF object. */
  btfObjFd: number;
  kind: "var" | "func";
}

export interface ExternResolution {
  /** Contents of the .kconfig map, when the object has kconfig externs. */
  kconfig?: Uint8Array;
  ksyms: Map<string, KsymResolution>;
}

export function resolveExterns(spec: CollectionSpec, _kernel: Btf): ExternResolution {
  const size = spec.maps.find((m) => m.name.endsWith(".kconfig"))?.valueSize;
  return { kconfig: size ? new Uint8Array(size) : undefined, ksyms: new Map() };
}
