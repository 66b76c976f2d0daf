import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BPF_FUNC_MAX_KNOWN, HELPER_NAMES, helperId, helperName } from "../../src/asm/helpers.ts";
import {
  decodeAll,
  decodeInsn,
  encodeAll,
  encodeInsn,
  getCode,
  getDst,
  getImm,
  getImm64,
  getOff,
  getSrc,
  InsnError,
  setCode,
  setDst,
  setImm,
  setImm64,
  setOff,
  setSrc,
} from "../../src/asm/insn.ts";
import { TsbpfError } from "../../src/errors.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("decodeInsn reads the UAPI layout: dst in the low nibble, signed off and imm", () => {
  // *(u64 *)(r10 - 0x8) = r1  ->  7b 1a f8 ff 00 00 00 00
  const b = Uint8Array.from([0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0, 0xb7, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(decodeInsn(b, 0), { code: 0x7b, dst: 10, src: 1, off: -8, imm: 0 });
  assert.equal(decodeInsn(b, 1), { code: 0xb7, dst: 0, src: 0, off: 0, imm: -1 });
});

test("ld_imm64 takes two slots and carries the full 64-bit value", () => {
  const b = encodeAll([
    { code: 0x18, dst: 2, src: 0, off: 0, imm: 0, imm64: 0x123456789abcdefn },
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ]);
  assert.is(b.length, 24);
  assert.is(hex(b.subarray(0, 16)), "18020000efcdab890000000067452301");
  const all = decodeAll(b);
  assert.equal(
    all.map((x) => [x.slot, x.size, x.insn.code]),
    [
      [0, 2, 0x18],
      [2, 1, 0x95],
    ],
  );
  assert.is(all[0].insn.imm64, 0x123456789abcdefn);
  assert.is(all[0].insn.imm, 0x89abcdef | 0);
  assert.is(decodeInsn(encodeInsn({ code: 0x18, dst: 1, src: 0, off: 0, imm: 0, imm64: -1n }), 0).imm64, -1n);
});

test("encode/decode round-trip for random instructions", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 15 }),
      fc.integer({ min: 0, max: 15 }),
      fc.integer({ min: -0x8000, max: 0x7fff }),
      fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      (code, dst, src, off, imm, wide) => {
        const insn = { code, dst, src, off, imm, ...(code === 0x18 ? { imm64: wide } : {}) };
        const bytes = encodeInsn(insn);
        assert.is(bytes.length, code === 0x18 ? 16 : 8);
        const back = decodeInsn(bytes, 0);
        if (code === 0x18) {
          assert.is(back.imm64, wide);
          assert.is(back.imm, Number(BigInt.asIntN(32, wide)));
        } else {
          assert.equal(back, insn);
        }
        assert.is(hex(encodeInsn(back)), hex(bytes));
      },
    ),
    { numRuns: 2000 },
  );
});

test("patch helpers edit one field in place and leave the others alone", () => {
  const b = encodeAll([
    { code: 0x79, dst: 1, src: 2, off: 8, imm: 0 },
    { code: 0x18, dst: 3, src: 0, off: 0, imm: 0, imm64: 0n },
    { code: 0x85, dst: 0, src: 0, off: 0, imm: 6 },
  ]);
  const view = b.subarray(0); // helpers must honour byteOffset too
  setOff(view, 0, -16);
  assert.equal(decodeInsn(b, 0), { code: 0x79, dst: 1, src: 2, off: -16, imm: 0 });
  setSrc(b, 0, 7);
  setDst(b, 0, 9);
  assert.equal([getSrc(b, 0), getDst(b, 0), getOff(b, 0)], [7, 9, -16]);
  setCode(b, 0, 0x61);
  assert.is(getCode(b, 0), 0x61);
  setImm(b, 3, 0xffffffff);
  assert.is(getImm(b, 3), -1);
  setImm64(b, 1, 0xdeadbeef00000001n);
  assert.is(getImm64(b, 1), BigInt.asIntN(64, 0xdeadbeef00000001n));
  assert.is(getImm(b, 1), 1);
  assert.is(getImm(b, 2), 0xdeadbeef | 0);
  assert.is(getDst(b, 1), 3, "setImm64 leaves the registers alone");
  // A subarray that starts mid-buffer.
  const outer = new Uint8Array(32);
  outer.set(b.subarray(0, 8), 8);
  const inner = outer.subarray(8, 16);
  setImm(inner, 0, 42);
  assert.is(getImm(outer.subarray(8), 0), 42);
  assert.is(outer[12], 42);
});

test("bad input raises InsnError (a TsbpfError) naming the slot or field", () => {
  const b = new Uint8Array(16);
  const cases: [() => unknown, RegExp][] = [
    [() => decodeInsn(b, 2), /slot 2 is out of range \(the program has 2 slots/],
    [() => decodeInsn(b, -1), /slot -1/],
    [() => decodeAll(new Uint8Array(12)), /length 12 is not a multiple of 8/],
    [() => decodeInsn(Uint8Array.from([0x18, 0, 0, 0, 0, 0, 0, 0]), 0), /ld_imm64 at slot 0 .* truncated/],
    [() => setImm64(b, 1, 1n), /slot 2 is out of range/],
    [() => setImm(b, 0, 2 ** 32), /imm=4294967296 does not fit/],
    [() => setOff(b, 0, 0x8000), /off=32768 does not fit/],
    [() => setDst(b, 0, 16), /dst=16 does not fit/],
    [() => setImm64(b, 0, 1n << 64n), /does not fit in 64 bits/],
    [() => encodeInsn({ code: 256, dst: 0, src: 0, off: 0, imm: 0 }), /code=256/],
  ];
  for (const [fn, re] of cases) {
    try {
      fn();
      assert.unreachable(`expected ${re}`);
    } catch (e) {
      assert.instance(e, InsnError);
      assert.instance(e, TsbpfError);
      assert.match((e as Error).message, re);
    }
  }
});

test("helper table follows __BPF_FUNC_MAPPER ids", () => {
  assert.is(helperName(1), "bpf_map_lookup_elem");
  assert.is(helperName(6), "bpf_trace_printk");
  assert.is(helperName(14), "bpf_get_current_pid_tgid");
  assert.is(helperName(35), "bpf_get_current_task");
  assert.is(helperName(113), "bpf_probe_read_kernel");
  assert.is(helperName(130), "bpf_ringbuf_output");
  assert.is(helperName(131), "bpf_ringbuf_reserve");
  assert.is(helperName(181), "bpf_loop");
  assert.is(helperName(209), "bpf_user_ringbuf_drain");
  assert.is(helperName(211), "bpf_cgrp_storage_delete");
  assert.is(BPF_FUNC_MAX_KNOWN, 211);
  assert.is(HELPER_NAMES[0], "unspec");
  assert.is(helperName(0), undefined);
  assert.is(helperName(212), undefined);
  assert.is(helperName(-1), undefined);
  assert.is(helperId("bpf_ktime_get_ns"), 5);
  assert.is(helperId("ringbuf_submit"), 132);
  assert.is(helperId("nope"), undefined);
  assert.is(new Set(HELPER_NAMES).size, HELPER_NAMES.length, "names are unique");
});

test.run();
