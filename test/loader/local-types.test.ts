// A struct that exists only in the program's own BTF (no kernel type of that name):
// its CO-RE relocations resolve to "absent" (or the local id), the object loads and
// runs, and bindings describe it. Issue 19: this once failed with "type id undefined
// out of range".
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { BtfError } from "../../src/btf/errors.ts";
import { loadCollection, loadCollectionSpec } from "../../src/index.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/local_types.bpf.o");

test("CO-RE on local-only structs: absent in the kernel, present locally", async () => {
  if (!privileged("loading local_types.bpf.o")) return;
  const spec = loadCollectionSpec(OBJ);
  const localId = spec.btf?.findByNameKind("only_local2", "struct")[0];
  const coll = await loadCollection(spec);
  try {
    const probe = coll.programs.probe;
    assert.ok(probe);
    assert.is(probe.testRun({ ctx: new Uint8Array(8) }).retval, 0);
    const out = (coll.globals.bss as { out: bigint[] }).out;
    // type_exists, type_size, type_id_kernel, type_id_local, field_exists, type_matches
    assert.equal(out.slice(0, 6), [0n, 0n, 0n, BigInt(localId ?? -1), 0n, 0n]);
  } finally {
    coll.close();
  }
});

test("a type id that is not a number is reported as such, not as 'out of range'", () => {
  const btf = loadCollectionSpec(OBJ).btf as Btf;
  assert.throws(
    () => btf.type(undefined as unknown as number),
    (e: unknown) => e instanceof BtfError && /type id undefined is not a number/.test(e.message),
  );
  assert.ok(btf instanceof Btf);
});

test.run();
