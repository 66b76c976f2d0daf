// The committed BPF objects the ELF tests iterate over (bpf/*.bpf.o and
// test/fixtures/*.bpf.o). Tests fail when there are none: an empty loop proves nothing.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT_DIR } from "../helpers/env.ts";

export function committedObjects(): string[] {
  const out: string[] = [];
  for (const dir of ["bpf", "test/fixtures"]) {
    const abs = join(ROOT_DIR, dir);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs).sort()) if (f.endsWith(".bpf.o")) out.push(join(abs, f));
  }
  if (out.length === 0)
    throw new Error("no committed BPF objects in bpf/ or test/fixtures/: build them first");
  return out;
}
