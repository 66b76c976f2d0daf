// Build-time warm-up for the single binary's V8 start-up snapshot (scripts/build-sea.mjs).
//
// V8 compiles a function to bytecode the first time it runs, and a snapshot keeps the
// bytecode of every function that ran while it was built (Node creates the blob with
// SnapshotCreator::FunctionCodeHandling::kKeep). Module evaluation alone runs only
// top-level code, so without this a cold `tsbpf load`/`explain` still parses and
// compiles the whole ELF → BTF → CO-RE path at run time: about a quarter of an
// uncached CO-RE resolution (bench/core.ts). Running that path once here, on fresh
// copies of the embedded objects, leaves its bytecode in the snapshot.
//
// Nothing computed here may survive into the snapshot, because the build machine is not
// the machine the binary runs on: every object below is created here and dropped, the
// CO-RE memo tables are WeakMaps keyed by these Btf objects, and the target BTF is
// passed explicitly, so the loader's own kernel BTF and module BTF caches
// (src/loader/kernel-btf.ts) are never filled. No bpf() call, no koffi, no open fd.
import { readFileSync } from "node:fs";
import { Btf } from "./btf/btf.ts";
import { applyCoreRelocations } from "./core/relocate.ts";
import { readCollectionSpec } from "./elf/collection.ts";
import { linkProgram } from "./loader/link.ts";

/** The running kernel's BTF on the build machine; the objects' own BTF when it has none. */
const BUILD_VMLINUX = "/sys/kernel/btf/vmlinux";

export interface WarmUpResult {
  /** CO-RE relocations resolved, over every object and program. */
  relocations: number;
  /** What the CO-RE relocations were resolved against. */
  target: string;
}

/**
 * Parses each object, links every program and resolves its CO-RE relocations, the way
 * the loader does, and returns what it did. Objects that fail to parse or resolve are
 * skipped: the warm-up only compiles code, and the same error reaches the user at run
 * time from the real path.
 */
export function warmUpLoadPath(objects: { name: string; path: string }[]): WarmUpResult {
  let vmlinux: Btf | undefined;
  try {
    vmlinux = Btf.parse(new Uint8Array(readFileSync(BUILD_VMLINUX)), { name: BUILD_VMLINUX });
  } catch {
    vmlinux = undefined;
  }
  let relocations = 0;
  for (const o of objects) {
    try {
      const spec = readCollectionSpec(new Uint8Array(readFileSync(o.path)), `warm-up:${o.name}`);
      if (!spec.btf) continue;
      for (const p of spec.programs) {
        const lp = linkProgram(spec, p);
        if (lp.coreRelos.length === 0) continue;
        relocations += applyCoreRelocations({
          program: p.name,
          insns: lp.insns,
          relos: lp.coreRelos,
          localBtf: spec.btf,
          targetBtf: vmlinux ?? spec.btf,
          lineInfo: lp.lineInfo,
        }).length;
      }
    } catch {
      // see above: compile-only
    }
  }
  return { relocations, target: vmlinux ? BUILD_VMLINUX : "each object's own BTF" };
}
