// encodeBtf round trips (our types and bpftool's view of the bytes) and split BTF
// built on top of vmlinux, checked against `bpftool btf dump file SPLIT base vmlinux`.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { dumpRaw } from "../../src/btf/dump.ts";
import { encodeBtf } from "../../src/btf/encode.ts";
import type { BtfType } from "../../src/btf/types.ts";
import { haveTool } from "../helpers/env.ts";
import { bpftoolDump, committedObjects, compileFixture, elfSection, normWs, scratchDir } from "./helpers.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";

function allTypes(btf: Btf): BtfType[] {
  const out: BtfType[] = [];
  for (let id = btf.firstId; id < btf.length; id++) out.push(btf.type(id));
  return out;
}

function objects(): string[] {
  const objs = committedObjects();
  if (haveTool("clang-19")) objs.push(compileFixture("kinds.bpf.c"));
  return objs;
}

test("parse(encode(types)) gives equal types for every object", () => {
  const objs = objects();
  assert.ok(objs.length > 0);
  for (const o of objs) {
    const btf = Btf.parse(elfSection(readFileSync(o), ".BTF") as Uint8Array, { name: o });
    const types = allTypes(btf);
    const again = Btf.parse(encodeBtf(types), { name: `${o} (re-encoded)` });
    assert.is(again.length, btf.length, o);
    assert.equal(allTypes(again), types, o);
    assert.is(dumpRaw(again), dumpRaw(btf), o);
  }
});

test("bpftool dumps an encoded object identically to the original", () => {
  if (!haveTool("bpftool")) return;
  for (const o of objects()) {
    const btf = Btf.parse(elfSection(readFileSync(o), ".BTF") as Uint8Array, { name: o });
    const file = join(scratchDir(), "reencoded.btf");
    writeFileSync(file, encodeBtf(allTypes(btf)));
    assert.equal(normWs(bpftoolDump(file)), normWs(bpftoolDump(o)), o);
  }
});

test("vmlinux re-encoded: same types", () => {
  const btf = Btf.parse(readFileSync(VMLINUX), { name: VMLINUX });
  const again = Btf.parse(encodeBtf(allTypes(btf)));
  assert.is(again.length, btf.length);
  for (const id of [1, 100, 114, btf.length - 1, btf.findByNameKind("task_struct", "struct")[0]]) {
    assert.equal(again.type(id), btf.type(id));
  }
  // The string table is deduplicated, so it can only shrink.
  assert.ok(again.stringsBytes.length <= btf.stringsBytes.length);
});

function buildSplit(base: Btf): BtfType[] {
  const L = base.length;
  const taskStruct = base.findByNameKind("task_struct", "struct")[0];
  const int = base.findByNameKind("int", "int")[0];
  const u64 = base.findByNameKind("u64", "typedef")[0];
  return [
    { kind: "ptr", id: L, name: "", type: taskStruct },
    {
      kind: "struct",
      id: L + 1,
      name: "tsbpf_split_probe",
      size: 24,
      members: [
        { name: "task", type: L, bitOffset: 0, bitfieldSize: 0 },
        { name: "pid", type: int, bitOffset: 64, bitfieldSize: 0 },
        // Reuses a name that exists in the base string table.
        { name: "comm", type: u64, bitOffset: 128, bitfieldSize: 0 },
      ],
    },
    {
      kind: "func_proto",
      id: L + 2,
      name: "",
      returnType: int,
      params: [{ name: "p", type: L + 1 }],
      variadic: true,
    },
    { kind: "func", id: L + 3, name: "tsbpf_split_fn", type: L + 2, linkage: 1 },
    {
      kind: "enum",
      id: L + 4,
      name: "tsbpf_split_enum",
      size: 4,
      signed: true,
      values: [{ name: "TSBPF_NEG", value: -1 }],
    },
    { kind: "typedef", id: L + 5, name: "task_struct", type: L + 1 },
  ];
}

test("split BTF on vmlinux: ids and string offsets continue after the base", () => {
  const base = Btf.parse(readFileSync(VMLINUX), { name: VMLINUX });
  const types = buildSplit(base);
  const bytes = encodeBtf(types, { base });
  const split = Btf.parse(bytes, { base, name: "split.btf" });
  assert.is(split.firstId, base.length);
  assert.is(split.length, base.length + types.length);
  assert.is(split.base, base);
  split.parseAll();
  assert.equal(allTypes(split), types);
  // Lookups cross the base boundary; ids come back ascending, base first.
  const L = base.length;
  const ts = base.findByNameKind("task_struct", "struct")[0];
  assert.equal(split.findByName("task_struct"), [ts, L + 5]);
  assert.equal(split.findByNameKind("task_struct", "typedef"), [L + 5]);
  assert.is(split.type(ts), base.type(ts));
  assert.is(split.nameOf(L + 1), "tsbpf_split_probe");
  assert.is(split.sizeof(L + 1), 24);
  assert.is(split.sizeof(L + 5), 24);
  assert.is(split.resolve(L + 5), L + 1);
  // A split string offset is past the whole base string section.
  const nameOff = new DataView(bytes.buffer).getUint32(24 + 12, true);
  assert.ok(nameOff >= base.stringsBytes.length, `name_off ${nameOff}`);

  if (!haveTool("bpftool")) return;
  const file = join(scratchDir(), "split.btf");
  writeFileSync(file, bytes);
  assert.equal(normWs(dumpRaw(split)), normWs(bpftoolDump(file, VMLINUX)));
});

test("module BTF in /sys/kernel/btf (if any) parses as split BTF and matches bpftool", () => {
  const base = Btf.parse(readFileSync(VMLINUX), { name: VMLINUX });
  const mods = readdirSync("/sys/kernel/btf").filter((m) => m !== "vmlinux");
  for (const m of mods.slice(0, 5)) {
    const path = `/sys/kernel/btf/${m}`;
    const btf = Btf.parse(readFileSync(path), { base, name: path });
    btf.parseAll();
    if (haveTool("bpftool")) assert.equal(normWs(dumpRaw(btf)), normWs(bpftoolDump(path, VMLINUX)));
  }
  assert.ok(true, `${mods.length} module BTF files`);
});

test.run();
