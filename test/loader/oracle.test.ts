// libbpf as the oracle: every object in the repo that needs no CO-RE and no externs
// is loaded with `tsbpf load --pin DIR1 --no-attach` and `bpftool prog loadall OBJ
// DIR2`; `bpftool prog dump xlated` of each program must match (map ids aside), which
// checks subprogram order, relocations, func_info and line_info at once. Objects
// libbpf refuses must be refused by tsbpf too.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";
import { assertSameXlated, bpfObjects, ensureBpffs, withBothLoaded } from "../helpers/oracle.ts";

function objects(): string[] {
  return bpfObjects().filter((rel) => {
    const spec = readCollectionSpec(readFileSync(join(ROOT_DIR, rel)), rel);
    const core = [...spec.functions.values()].some((f) => f.coreRelos.length > 0);
    return !core && spec.externs.length === 0;
  });
}

test("xlated instructions of every non-CO-RE object match libbpf's (bpftool prog loadall)", () => {
  if (!privileged("libbpf oracle") || !haveTool("bpftool")) return;
  ensureBpffs();
  const list = objects();
  assert.ok(list.length >= 5, `objects: ${list.join(", ")}`);
  let compared = 0;
  for (const rel of list) {
    withBothLoaded(rel, "tsbpf-oracle", ["--json"], (r) => {
      // This bpftool's libbpf predates some SEC() names (tc/ingress and tcx/*: libbpf 1.3):
      // that is no verdict on the object, so there is nothing to compare.
      if (r.bt.status !== 0 && /failed to guess program type from ELF section/.test(r.bt.stderr)) return;
      if (r.bt.status !== 0) {
        assert.is.not(r.ts.status, 0, `${rel}: libbpf refuses it but tsbpf loaded it`);
        assert.not.match(r.ts.stderr, "internal error");
        assert.not.match(r.ts.stderr, /\n\s+at /, "no stack trace");
        return;
      }
      compared += assertSameXlated(rel, r);
    });
  }
  assert.ok(compared >= 8, `compared ${compared} programs`);
});

test.run();
