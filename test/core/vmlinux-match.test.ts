// TYPE_MATCHES against the running kernel's BTF, on the fixture's trimmed vmlinux.h
// types: libbpf decides `struct task_struct` does NOT match (0) and `struct upid`
// does (1); we must agree (bpf_core_types_match rules). Reading
// /sys/kernel/btf/vmlinux needs no privileges.
import { existsSync, readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BPF_CORE } from "../../src/btf/ext.ts";
import { BtfCache } from "../../src/btf/kernel.ts";
import { resolveCoreRelo } from "../../src/core/resolve.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { inCI, ROOT_DIR } from "../helpers/env.ts";

test("TYPE_MATCHES agrees with libbpf on task_struct (0) and upid (1)", () => {
  if (!existsSync("/sys/kernel/btf/vmlinux")) {
    assert.ok(!inCI, "CI machines have kernel BTF");
    return;
  }
  const spec = readCollectionSpec(readFileSync(`${ROOT_DIR}/test/fixtures/core.bpf.o`), "core.bpf.o");
  const local = spec.btf;
  assert.ok(local);
  const targets = { vmlinux: new BtfCache().kernel(), modules: [] };
  const matches = (name: string) => {
    const id = local.findByNameKind(name, "struct")[0];
    assert.ok(id, name);
    return resolveCoreRelo(
      local,
      { insn: 0, typeId: id, accessStr: "0", kind: BPF_CORE.TYPE_MATCHES },
      targets,
    ).res.newVal;
  };
  const exists = (name: string) => {
    const id = local.findByNameKind(name, "struct")[0] as number;
    return resolveCoreRelo(
      local,
      { insn: 0, typeId: id, accessStr: "0", kind: BPF_CORE.TYPE_EXISTS },
      targets,
    ).res.newVal;
  };
  assert.is(matches("task_struct"), 0n);
  assert.is(exists("task_struct"), 1n);
  assert.is(matches("upid"), 1n);
});

test.run();
