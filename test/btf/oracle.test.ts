// Oracle: dumpRaw must reproduce `bpftool btf dump file` for vmlinux, for every
// committed BPF object, and for our scratch fixtures.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { dumpRaw } from "../../src/btf/dump.ts";
import { haveTool } from "../helpers/env.ts";
import {
  bpftoolDump,
  committedObjects,
  compileFixture,
  elfSection,
  fixtureSources,
  normWs,
} from "./helpers.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";

function compareLines(ours: string, theirs: string, what: string): void {
  const a = normWs(ours);
  const b = normWs(theirs);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i])
      assert.unreachable(`${what}: line ${i + 1} differs\n  ours:    ${a[i]}\n  bpftool: ${b[i]}`);
  }
  assert.is(a.length, b.length, `${what}: line count`);
}

function checkObject(path: string): void {
  const btfBytes = elfSection(readFileSync(path), ".BTF");
  assert.ok(btfBytes, `${path} has a .BTF section`);
  const btf = Btf.parse(btfBytes as Uint8Array, { name: path });
  btf.parseAll();
  compareLines(dumpRaw(btf), bpftoolDump(path), path);
}

test("vmlinux BTF: dumpRaw equals bpftool line for line", () => {
  if (!haveTool("bpftool")) return;
  const btf = Btf.parse(readFileSync(VMLINUX), { name: VMLINUX });
  const ours = dumpRaw(btf);
  const theirs = bpftoolDump(VMLINUX);
  // Cheap structural checks first, so a failure says what kind of mismatch it is.
  const heads = (s: string) => s.split("\n").filter((l) => l.startsWith("["));
  const oh = heads(ours);
  const th = heads(theirs);
  assert.is(oh.length, th.length, "type count");
  assert.is(btf.length - 1, th.length);
  compareLines(ours, theirs, VMLINUX);
});

test("committed BPF objects: dumpRaw equals bpftool", () => {
  if (!haveTool("bpftool")) return;
  const objs = committedObjects();
  assert.ok(objs.length > 0, "no committed bpf/*.bpf.o or test/fixtures/*.bpf.o to check");
  for (const o of objs) checkObject(o);
});

test("scratch fixtures compiled with clang-19: dumpRaw equals bpftool", () => {
  if (!haveTool("bpftool") || !haveTool("clang-19")) return;
  const srcs = fixtureSources();
  assert.ok(srcs.length > 0);
  for (const s of srcs) checkObject(compileFixture(s));
});

test.run();
