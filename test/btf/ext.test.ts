// .BTF.ext: CO-RE records of a fixture with known accesses, func_info pointing at
// FUNC types, and line_info strings matching the C source lines they name.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { BtfError } from "../../src/btf/errors.ts";
import { BPF_CORE, BPF_CORE_KIND_NAMES, parseBtfExt } from "../../src/btf/ext.ts";
import { formatAccess } from "../../src/btf/format.ts";
import { haveTool } from "../helpers/env.ts";
import { committedObjects, compileFixture, elfSection } from "./helpers.ts";

function load(path: string) {
  const f = readFileSync(path);
  const btf = Btf.parse(elfSection(f, ".BTF") as Uint8Array, { name: path });
  const extBytes = elfSection(f, ".BTF.ext") as Uint8Array;
  return { btf, extBytes, ext: parseBtfExt(extBytes, btf, path) };
}

test("BPF_CORE names follow the kind numbers", () => {
  assert.is(BPF_CORE_KIND_NAMES.length, 13);
  assert.is(BPF_CORE_KIND_NAMES[BPF_CORE.FIELD_BYTE_OFFSET], "byte_off");
  assert.is(BPF_CORE_KIND_NAMES[BPF_CORE.TYPE_MATCHES], "type_matches");
  assert.is(BPF_CORE_KIND_NAMES[BPF_CORE.ENUMVAL_VALUE], "enumval_value");
});

test("CO-RE relocations of kinds.bpf.c: known access strings", () => {
  if (!haveTool("clang-19")) return;
  const { btf, ext } = load(compileFixture("kinds.bpf.c"));
  const relos = ext.coreRelos.get(".text");
  assert.ok(relos, "CO-RE records for .text (helper())");
  assert.is(ext.coreReloRecSize, 16);
  const outer = btf.findByNameKind("outer", "struct")[0];
  // BPF_CORE_READ(o, in.a), (o, parent, id) [two reads], (o, arr[2]): all byte offsets.
  const got = (relos ?? []).map((r) => `${r.accessStr}=${formatAccess(btf, r.typeId, r.accessStr)}`).sort();
  assert.equal(got, ["0:0=outer->id", "0:1:0=outer->in.a", "0:2=outer->parent", "0:3:2=outer->arr[2]"]);
  for (const r of relos ?? []) {
    assert.is(r.typeId, outer);
    assert.is(r.kind, BPF_CORE.FIELD_BYTE_OFFSET);
    assert.ok(Number.isInteger(r.insn) && r.insn >= 0);
  }
  // Instruction indexes are distinct and ascending.
  const insns = (relos ?? []).map((r) => r.insn);
  assert.equal(
    [...insns].sort((a, b) => a - b),
    insns,
  );
});

test("func_info points at FUNC types; line_info text matches the source line", () => {
  if (!haveTool("clang-19")) return;
  const { btf, ext } = load(compileFixture("kinds.bpf.c"));
  assert.is(ext.funcInfoRecSize, 8);
  assert.is(ext.lineInfoRecSize, 16);
  const fi = ext.funcInfo.get("tracepoint/syscalls/sys_enter_execve");
  assert.equal(
    fi?.map((f) => [f.insnOff, btf.nameOf(f.typeId), btf.kind(f.typeId)]),
    [[0, "handle", "func"]],
  );
  assert.equal(
    ext.funcInfo.get(".text")?.map((f) => btf.nameOf(f.typeId)),
    ["helper"],
  );
  let checked = 0;
  for (const [, lines] of ext.lineInfo) {
    for (const l of lines) {
      assert.ok(l.fileName.endsWith("kinds.bpf.c"), l.fileName);
      const src = readFileSync(l.fileName, "utf8").split("\n");
      assert.is(src[l.lineNumber - 1], l.line, `line ${l.lineNumber}`);
      assert.is(l.lineNumber, l.lineCol >>> 10);
      assert.is(l.column, l.lineCol & 0x3ff);
      assert.is(l.insnOff % 8, 0);
      checked++;
    }
  }
  assert.ok(checked >= 5, `checked ${checked} line_info records`);
  assert.ok(
    ext.lineInfo.get(".text")?.some((l) => l.line.includes("BPF_CORE_READ(o, in.a)")),
    "helper's body line is recorded",
  );
});

test("committed objects: .BTF.ext parses and every record refers to valid BTF", () => {
  const objs = committedObjects();
  assert.ok(objs.length > 0, "no committed objects");
  for (const o of objs) {
    const f = readFileSync(o);
    const b = elfSection(f, ".BTF");
    const e = elfSection(f, ".BTF.ext");
    if (!b || !e) continue;
    const btf = Btf.parse(b, { name: o });
    const ext = parseBtfExt(e, btf, o);
    for (const [, fis] of ext.funcInfo) for (const fi of fis) assert.is(btf.kind(fi.typeId), "func");
    for (const [, rs] of ext.coreRelos) {
      for (const r of rs) {
        assert.ok(r.kind >= 0 && r.kind <= 12);
        formatAccess(btf, r.typeId, r.accessStr);
      }
    }
  }
});

test("malformed .BTF.ext ends in BtfError naming the file and offset", () => {
  if (!haveTool("clang-19")) return;
  const { btf, extBytes } = load(compileFixture("kinds.bpf.c"));
  const bad = (mut: (b: Uint8Array, dv: DataView) => void, re: RegExp) => {
    const b = new Uint8Array(extBytes); // a copy (Buffer#slice would alias)
    mut(b, new DataView(b.buffer));
    try {
      parseBtfExt(b, btf, "x.o");
      assert.unreachable("expected BtfError");
    } catch (e) {
      assert.instance(e, BtfError);
      assert.match((e as Error).message, /^bad \.BTF\.ext in x\.o: /);
      assert.match((e as Error).message, re);
    }
  };
  bad((b) => (b[0] = 0), /magic/);
  bad((b) => (b[2] = 2), /version 2/);
  bad((_, dv) => dv.setUint32(4, 9999999, true), /hdr_len/);
  bad((_, dv) => dv.setUint32(12, 0xffffff, true), /func_info .* runs past/);
  bad((_, dv) => dv.setUint32(dv.getUint32(4, true) + dv.getUint32(8, true), 3, true), /record size 3/);
  bad((b, dv) => {
    const start = dv.getUint32(4, true) + dv.getUint32(8, true);
    dv.setUint32(start + 8, 0x7fffffff, true); // num_info of the first section
    void b;
  }, /run past the end/);
  try {
    parseBtfExt(extBytes.subarray(0, 5), btf, "x.o");
    assert.unreachable();
  } catch (e) {
    assert.instance(e, BtfError);
  }
});

test.run();
