// The BTF sanitiser (libbpf bpf_object__sanitize_btf semantics), exercised on this
// kernel by pretending it lacks each feature: the replaced kinds must be gone, the
// type ids kept, and the kernel must still accept the result.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { prepareBtf } from "../../src/loader/btf.ts";
import { btfLoad, closeFd } from "../../src/sys/bpf.ts";
import { FeatureProbes } from "../../src/sys/features.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const FEATURES = ["func", "func_global", "datasec", "float", "decl_tag", "type_tag", "enum64"];

function kinds(b: Btf): Set<string> {
  const out = new Set<string>();
  for (let id = 1; id < b.length; id++) out.add(b.kind(id));
  return out;
}

test("no BTF_KIND_DATASEC/VAR/FLOAT/DECL_TAG/TYPE_TAG/ENUM64 support: replaced, ids kept, still loadable", () => {
  if (!privileged("BTF sanitiser")) return;
  for (const obj of ["test/fixtures/globals.bpf.o", "test/fixtures/maps.bpf.o", "bpf/process.bpf.o"]) {
    const spec = readCollectionSpec(readFileSync(join(ROOT_DIR, obj)), obj);
    const orig = spec.btf as Btf;
    const features = new FeatureProbes();
    for (const f of FEATURES.filter((x) => x !== "func" && x !== "func_global"))
      features.set(`btf_${f}`, false);
    const { bytes, changes } = prepareBtf(spec, orig, features);
    const b = Btf.parse(bytes);
    const k = kinds(b);
    for (const gone of ["var", "datasec", "float", "decl_tag", "type_tag", "enum64"])
      assert.not.ok(k.has(gone), `${obj}: ${gone} left`);
    assert.ok(b.length >= orig.length, "ids kept (only appended)");
    // FUNCs untouched when only the other features are missing.
    assert.is(b.findByNameKind(spec.programs[0]?.name ?? "", "func").length, 1);
    if (kinds(orig).has("datasec")) assert.ok(changes.some((c) => c.includes("DATASEC")));
    closeFd(btfLoad({ btf: bytes }));
  }
});

test("no BTF_KIND_FUNC / global functions: FUNC → TYPEDEF, FUNC_PROTO → ENUM, or static linkage", () => {
  if (!privileged("BTF sanitiser")) return;
  const obj = "test/fixtures/calls.bpf.o";
  const spec = readCollectionSpec(readFileSync(join(ROOT_DIR, obj)), obj);
  const noGlobal = new FeatureProbes();
  noGlobal.set("btf_func_global", false);
  const b = Btf.parse(prepareBtf(spec, spec.btf as Btf, noGlobal).bytes);
  const mix = b.type(b.findByNameKind("mix", "func")[0] as number);
  assert.ok(mix.kind === "func" && mix.linkage === 0, "global mix → static");
  const noFunc = new FeatureProbes();
  noFunc.set("btf_func", false);
  const bytes = prepareBtf(spec, spec.btf as Btf, noFunc).bytes;
  const nf = Btf.parse(bytes);
  assert.not.ok(kinds(nf).has("func"));
  assert.not.ok(kinds(nf).has("func_proto"));
  assert.is(nf.findByNameKind("mix", "typedef").length, 1);
  closeFd(btfLoad({ btf: bytes }));
});

test.run();
