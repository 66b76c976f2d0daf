// Patching instructions from resolved CO-RE values: ALU immediates, LDX offsets and
// access sizes, ld_imm64, validation of the compiled-in value, and poisoning.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeInsn, encodeAll } from "../../src/asm/insn.ts";
import { BPF_CORE } from "../../src/btf/ext.ts";
import { CoreRelocationError } from "../../src/core/errors.ts";
import { CORE_POISON_IMM } from "../../src/core/patch.ts";
import { applyCoreRelocations } from "../../src/core/relocate.ts";
import { BPF_ALU64, BPF_DW, BPF_K, BPF_LD_IMM64, BPF_LDX, BPF_MEM, BPF_MOV, BPF_W } from "../../src/uapi.ts";
import { BtfBuilder } from "./btf-builder.ts";

const K = BPF_CORE;
const MOV_K = BPF_ALU64 | BPF_MOV | BPF_K;
const LDXW = BPF_LDX | BPF_MEM | BPF_W;

// Local: struct p { unsigned int u; int s; void *ptr; }  Target: u and s widened to 8 bytes.
function pair() {
  const lb = new BtfBuilder();
  const lu = lb.int("unsigned int", 4);
  const li = lb.int("int", 4, true);
  const lv = lb.ptr(0);
  const lp = lb.struct("p", 16, [
    ["u", lu, 0],
    ["s", li, 32],
    ["ptr", lv, 64],
  ]);
  const tb = new BtfBuilder();
  const tu = tb.int("long unsigned int", 8);
  const ts = tb.int("long int", 8, true);
  const tv = tb.ptr(0);
  tb.struct("p", 24, [
    ["ptr", tv, 0],
    ["u", tu, 64],
    ["s", ts, 128],
  ]);
  return { local: lb.build("local"), target: tb.build("target"), lp };
}

test("LDX: offset patched and an unsigned load widened W -> DW", () => {
  const { local, target, lp } = pair();
  const insns = encodeAll([{ code: LDXW, dst: 1, src: 2, off: 0, imm: 0 }]);
  const [r] = applyCoreRelocations({
    program: "t",
    insns,
    relos: [{ insn: 0, typeId: lp, accessStr: "0:0", kind: K.FIELD_BYTE_OFFSET }],
    localBtf: local,
    targetBtf: target,
  });
  const i = decodeInsn(insns, 0);
  assert.is(i.off, 8);
  assert.is(i.code, BPF_LDX | BPF_MEM | BPF_DW);
  assert.is(r?.patch, "off 0 -> 8, size 4 -> 8");
  assert.is(r?.insnBefore, "w1 = *(u32 *)(r2 + 0x0)");
  assert.is(r?.insnAfter, "r1 = *(u64 *)(r2 + 0x8)");
  assert.equal(r?.value, { local: 0, target: 8 });
});

test("LDX of a signed int whose size changed is poisoned", () => {
  const { local, target, lp } = pair();
  const insns = encodeAll([{ code: LDXW, dst: 1, src: 2, off: 4, imm: 0 }]);
  const [r] = applyCoreRelocations({
    program: "t",
    insns,
    relos: [{ insn: 0, typeId: lp, accessStr: "0:1", kind: K.FIELD_BYTE_OFFSET }],
    localBtf: local,
    targetBtf: target,
  });
  assert.is(r?.poisoned, true);
  assert.is(decodeInsn(insns, 0).imm, CORE_POISON_IMM);
  assert.is(decodeInsn(insns, 0).code, 0x85);
});

test("ALU immediate: patched, and a mismatching compiled value names the insn", () => {
  const { local, target, lp } = pair();
  const insns = encodeAll([
    { code: MOV_K, dst: 1, src: 0, off: 0, imm: 8 },
    { code: MOV_K, dst: 2, src: 0, off: 0, imm: 99 },
  ]);
  const relos = [{ insn: 0, typeId: lp, accessStr: "0:2", kind: K.FIELD_BYTE_OFFSET }];
  const [r] = applyCoreRelocations({ program: "t", insns, relos, localBtf: local, targetBtf: target });
  assert.is(decodeInsn(insns, 0).imm, 0);
  assert.is(r?.insnAfter, "r1 = 0x0");
  const bad = [{ insn: 1, typeId: lp, accessStr: "0:2", kind: K.FIELD_BYTE_OFFSET }];
  try {
    applyCoreRelocations({ program: "prog_x", insns, relos: bad, localBtf: local, targetBtf: target });
    assert.unreachable("expected an error");
  } catch (e) {
    assert.instance(e, CoreRelocationError);
    assert.match(
      (e as Error).message,
      /^CO-RE relocation #0 in program prog_x failed: .*unexpected insn #1 \(ALU\/ALU64\) value: got 99, expected 8 -> 0/,
    );
  }
});

test("ld_imm64: both halves patched; poisoning replaces both slots", () => {
  const lb = new BtfBuilder();
  const le = lb.enum("e64", [
    ["A", 1],
    ["B", 2],
  ]);
  const local = lb.build("local");
  const tb = new BtfBuilder();
  tb.add({
    kind: "enum64",
    name: "e64",
    size: 8,
    signed: false,
    values: [{ name: "A", value: 0x123456789n }],
  });
  const target = tb.build("target");
  const insns = encodeAll([
    { code: BPF_LD_IMM64, dst: 1, src: 0, off: 0, imm: 1, imm64: 1n },
    { code: BPF_LD_IMM64, dst: 2, src: 0, off: 0, imm: 2, imm64: 2n },
  ]);
  const res = applyCoreRelocations({
    program: "t",
    insns,
    relos: [
      { insn: 0, typeId: le, accessStr: "0", kind: K.ENUMVAL_VALUE },
      { insn: 2, typeId: le, accessStr: "1", kind: K.ENUMVAL_VALUE },
    ],
    localBtf: local,
    targetBtf: target,
  });
  assert.is(decodeInsn(insns, 0).imm64, 0x123456789n);
  assert.is(res[1]?.poisoned, true);
  // The target is named: it is not the running kernel's.
  assert.is(res[1]?.error, "e64::B not found in target BTF target");
  for (const slot of [2, 3]) {
    const i = decodeInsn(insns, slot);
    assert.is(i.code, 0x85);
    assert.is(i.imm, CORE_POISON_IMM);
  }
});

test("source location comes from line_info", () => {
  const { local, target, lp } = pair();
  const insns = encodeAll([
    { code: MOV_K, dst: 1, src: 0, off: 0, imm: 0 },
    { code: MOV_K, dst: 1, src: 0, off: 0, imm: 1 },
  ]);
  const line = (insn: number, n: number) => ({
    insn,
    fileName: "./bpf/x.bpf.c",
    line: "",
    lineNumber: n,
    column: 1,
    fileNameOff: 0,
    lineOff: 0,
    lineCol: 0,
  });
  const args = {
    program: "t",
    insns,
    localBtf: local,
    targetBtf: target,
    lineInfo: [line(0, 10), line(1, 42)],
  };
  const [ok] = applyCoreRelocations({
    ...args,
    relos: [{ insn: 1, typeId: lp, accessStr: "0:1", kind: K.FIELD_EXISTS }],
  });
  assert.is(ok?.source, "bpf/x.bpf.c:42");
  assert.throws(
    () =>
      applyCoreRelocations({
        ...args,
        relos: [{ insn: 1, typeId: lp, accessStr: "0:9", kind: K.FIELD_EXISTS }],
      }),
    (e: Error) =>
      e instanceof CoreRelocationError &&
      e.message.startsWith("CO-RE relocation #0 in program t failed: ") &&
      e.message.includes("member #9 of struct #4 does not exist") &&
      e.message.endsWith("(wanted by bpf/x.bpf.c:42)"),
  );
});

test.run();
