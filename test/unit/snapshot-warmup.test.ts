// src/snapshot-warmup.ts runs at build time inside the single binary's V8 snapshot: it
// must exercise the whole ELF → BTF → CO-RE path and leave nothing behind (no kernel
// object, no cached kernel BTF) that a run on another machine could see.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { cachedKernelBtf } from "../../src/loader/kernel-btf.ts";
import { linkProgram } from "../../src/loader/link.ts";
import { warmUpLoadPath } from "../../src/snapshot-warmup.ts";
import { setBpfRecorder } from "../../src/sys/bpf.ts";
import { ROOT_DIR } from "../helpers/env.ts";

const objects = ["process.bpf.o", "process_perf.bpf.o"].map((name) => ({
  name,
  path: join(ROOT_DIR, "bpf", name),
}));

/** CO-RE records of every program, counted from the objects directly. */
function coreRecords(): number {
  let n = 0;
  for (const o of objects) {
    const spec = readCollectionSpec(new Uint8Array(readFileSync(o.path)), o.path);
    for (const p of spec.programs) n += linkProgram(spec, p).coreRelos.length;
  }
  return n;
}

test("resolves every CO-RE record of the embedded objects, with no bpf() call and no cached kernel BTF", () => {
  const calls: unknown[] = [];
  setBpfRecorder((c) => calls.push(c));
  try {
    const r = warmUpLoadPath(objects);
    assert.is(r.relocations, coreRecords());
    assert.ok(r.relocations > 400, `only ${r.relocations} relocations`);
    assert.is(r.target, "/sys/kernel/btf/vmlinux");
  } finally {
    setBpfRecorder(undefined);
  }
  assert.is(calls.length, 0);
  assert.is(cachedKernelBtf(), undefined);
});

test("an object that does not parse is skipped, not thrown", () => {
  const r = warmUpLoadPath([{ name: "missing", path: join(ROOT_DIR, "no-such-object.bpf.o") }]);
  assert.is(r.relocations, 0);
});

test.run();
