// libbpf as the oracle for CO-RE: every object in the repo with CO-RE records
// (test/fixtures/core*.bpf.o, bpf/process.bpf.o) is loaded with `tsbpf load --pin
// DIR --no-attach` and with `bpftool prog loadall`; `bpftool prog dump xlated` of
// each program must be identical apart from map ids and kernel addresses. Objects
// libbpf refuses (core_fail.bpf.o) must be refused by tsbpf as well.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";
import { assertSameXlated, bpfObjects, ensureBpffs, withBothLoaded } from "../helpers/oracle.ts";

function coreObjects(): string[] {
  return bpfObjects().filter((rel) => {
    const spec = readCollectionSpec(readFileSync(join(ROOT_DIR, rel)), rel);
    return [...spec.functions.values()].some((fn) => fn.coreRelos.length > 0);
  });
}

for (const rel of coreObjects()) {
  test(`${rel}: xlated program after CO-RE equals libbpf's`, () => {
    if (!privileged("CO-RE libbpf oracle") || !haveTool("bpftool")) return;
    ensureBpffs();
    withBothLoaded(rel, "tsbpf-core-oracle", [], (r) => {
      if (r.bt.status !== 0) {
        assert.is.not(r.ts.status, 0, `${rel}: libbpf refuses it but tsbpf loaded it`);
        assert.not.match(r.ts.stderr, /\n\s+at /, "no stack trace");
        return;
      }
      assertSameXlated(rel, r);
    });
  });
}

test.run();
