import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { disassemble, disassembleInsn } from "../../src/asm/disasm.ts";
import { encodeAll, type Insn } from "../../src/asm/insn.ts";

const I = (code: number, dst: number, src: number, off: number, imm: number, imm64?: bigint): Insn =>
  imm64 === undefined ? { code, dst, src, off, imm } : { code, dst, src, off, imm, imm64 };

const texts = (insns: Insn[], opts = {}) => disassemble(encodeAll(insns), opts).map((l) => l.text);

test("llvm-objdump syntax for the common forms", () => {
  assert.equal(
    texts([
      I(0xb7, 1, 0, 0, 0),
      I(0xbc, 1, 2, 0, 0),
      I(0x07, 1, 0, 0, 16),
      I(0x61, 0, 1, 8, 0),
      I(0x7b, 10, 1, -8, 0),
      I(0x65, 1, 0, 2, 3),
      I(0x85, 0, 0, 0, 6),
      I(0xdc, 1, 0, 0, 16),
      I(0xd7, 1, 0, 0, 16),
      I(0x91, 1, 2, 0, 0),
      I(0xbf, 1, 2, 8, 0),
      I(0x0c, 1, 2, 0, 0),
      I(0xa6, 1, 0, 2, 4),
      I(0xdb, 1, 2, 0, 0),
      I(0xdb, 1, 0, 0, 1),
      I(0xdb, 1, 2, 0, 0xe1),
      I(0xdb, 1, 2, 0, 0xf1),
      I(0x95, 0, 0, 0, 0),
    ]),
    [
      "r1 = 0x0",
      "w1 = w2",
      "r1 += 0x10",
      "w0 = *(u32 *)(r1 + 0x8)",
      "*(u64 *)(r10 - 0x8) = r1",
      "if r1 s> 0x3 goto +0x2",
      "call 0x6",
      "r1 = be16 r1",
      "r1 = bswap16 r1",
      "r1 = *(s8 *)(r2 + 0x0)",
      "r1 = (s8)r2",
      "w1 += w2",
      "if w1 < 0x4 goto +0x2",
      "lock *(u64 *)(r1 + 0x0) += r2",
      "r0 = atomic_fetch_add((u64 *)(r1 + 0x0), r0)",
      "r2 = xchg_64(r1 + 0x0, r2)",
      "r0 = cmpxchg_64(r1 + 0x0, r0, r2)",
      "exit",
    ],
  );
});

test("ld_imm64 prints one line for two slots", () => {
  const lines = disassemble(encodeAll([I(0x18, 1, 0, 0, 0, -2n), I(0x95, 0, 0, 0, 0)]));
  assert.equal(
    lines.map((l) => [l.slot, l.size, l.bytes.length, l.text]),
    [
      [0, 2, 16, "r1 = -0x2 ll"],
      [2, 1, 8, "exit"],
    ],
  );
});

test("helperNames: symbolic helpers, pseudo calls, kfuncs and pseudo ld_imm64", () => {
  const insns = [
    I(0x85, 0, 0, 0, 14),
    I(0x85, 0, 1, 0, 12),
    I(0x85, 0, 1, 0, -3),
    I(0x85, 0, 2, 0, 7777),
    I(0x85, 0, 0, 0, 9999),
    I(0x18, 1, 1, 0, 5, 5n),
    I(0x18, 2, 2, 0, 5, (16n << 32n) | 5n),
    I(0x18, 3, 5, 0, 0, 0n),
    I(0x18, 4, 6, 0, 1, (8n << 32n) | 1n),
    I(0x18, 5, 3, 0, 1234, 1234n),
    I(0x18, 6, 4, 0, 4, 4n),
  ];
  assert.equal(texts(insns, { helperNames: true }), [
    "call bpf_get_current_pid_tgid",
    "call pc+12",
    "call pc-3",
    "call kfunc#7777",
    "call helper#9999",
    "r1 = map[fd:5]",
    "r2 = map[fd:5]+16",
    "r3 = map[idx:0]",
    "r4 = map[idx:1]+8",
    "r5 = btf_id 1234",
    "r6 = func pc+4",
  ]);
  // Without helperNames the text is llvm's.
  assert.equal(texts(insns.slice(0, 2)), ["call 0xe", "call 0xc"]);
  assert.equal(texts([I(0x18, 1, 1, 0, 5, 5n)]), ["ld_pseudo r1, 0x1, 0x5"]);
});

test("annotate names a pseudo call's callee, else it is appended as a comment", () => {
  const b = encodeAll([I(0x85, 0, 1, 0, 2), I(0x18, 1, 0, 0, 0, 0n), I(0x95, 0, 0, 0, 0)]);
  const annotate = (slot: number) => ({ 0: "square", 1: "events" })[slot];
  assert.equal(
    disassemble(b, { helperNames: true, annotate }).map((l) => l.text),
    ["call square", "r1 = 0x0 ll ; events", "exit"],
  );
  assert.equal(
    disassemble(b, { annotate }).map((l) => l.text),
    ["call 0x2 ; square", "r1 = 0x0 ll ; events", "exit"],
  );
});

test("jumpLabel receives the absolute target slot", () => {
  const seen: number[] = [];
  const out = texts([I(0x05, 0, 0, 1, 0), I(0x06, 0, 0, 0, -2), I(0xe5, 0, 0, 0, 0), I(0x15, 1, 0, -1, 0)], {
    jumpLabel: (t: number) => {
      seen.push(t);
      return `L${t}`;
    },
  });
  assert.equal(out, [
    "goto +0x1 <L2>",
    "gotol -0x2 <L0>",
    "may_goto +0x0 <L3>",
    "if r1 == 0x0 goto -0x1 <L3>",
  ]);
  assert.equal(seen, [2, 0, 3, 3]);
});

test("alu32: false prints sub-64-bit memory operands with r registers", () => {
  const insns = [I(0x61, 0, 1, 8, 0), I(0x63, 1, 2, 0, 0), I(0xc3, 1, 2, 0, 0), I(0xc3, 1, 2, 0, 1)];
  assert.equal(texts(insns, { alu32: false }), [
    "r0 = *(u32 *)(r1 + 0x8)",
    "*(u32 *)(r1 + 0x0) = r2",
    "lock *(u32 *)(r1 + 0x0) += r2",
    "w2 = atomic_fetch_add((u32 *)(r1 + 0x0), w2)",
  ]);
});

test("load-acquire and store-release (imm 0x100/0x110) use llvm 20's spelling", () => {
  assert.equal(texts([I(0xd3, 0, 1, 0, 0x100), I(0xdb, 1, 2, 8, 0x110)]), [
    "w0 = load_acquire((u8 *)(r1 + 0x0))",
    "store_release((u64 *)(r1 + 0x8), r2)",
  ]);
});

test("bad encodings print <unknown opcode 0x..> and never throw", () => {
  assert.equal(
    texts([
      I(0xff, 0, 0, 0, 0),
      I(0x95, 0, 0, 0, 1), // exit with imm
      I(0x0f, 1, 2, 1, 0), // add with off
      I(0xdb, 1, 2, 0, 0x5d), // non-canonical atomic
      I(0x79, 12, 1, 0, 0), // register 12
      I(0xd7, 1, 0, 0, 17), // bswap17
    ]),
    [
      "<unknown opcode 0xff>",
      "<unknown opcode 0x95>",
      "<unknown opcode 0x0f>",
      "<unknown opcode 0xdb>",
      "<unknown opcode 0x79>",
      "<unknown opcode 0xd7>",
    ],
  );
  // A bad ld_imm64 (off != 0) consumes one slot, like llvm-objdump; a truncated one too.
  const bad = disassemble(encodeAll([I(0x18, 1, 0, 1, 0, 0n)]));
  assert.equal(
    bad.map((l) => [l.slot, l.size, l.text]),
    [
      [0, 1, "<unknown opcode 0x18>"],
      [1, 1, "<unknown opcode 0x00>"],
    ],
  );
  const cut = disassemble(Uint8Array.from([0x18, 1, 0, 0, 0, 0, 0, 0, 0x95, 0, 0]));
  assert.equal(
    cut.map((l) => [l.slot, l.bytes.length, l.text]),
    [
      [0, 8, "<unknown opcode 0x18>"],
      [1, 3, "<unknown opcode 0x95>"],
    ],
  );
  assert.equal(disassemble(new Uint8Array(0)), []);
  assert.is(disassembleInsn(I(0x18, 1, 0, 0, 0)), "<unknown opcode 0x18>", "ld_imm64 without imm64");
});

test("random bytes never make the disassembler throw, and every slot is covered", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      fc.boolean(),
      fc.boolean(),
      (bytes, helperNames, alu32) => {
        const lines = disassemble(bytes, {
          helperNames,
          alu32,
          annotate: (s) => (s % 3 === 0 ? `a${s}` : undefined),
          jumpLabel: (t) => `t${t}`,
        });
        let next = 0;
        for (const l of lines) {
          assert.is(l.slot, next);
          assert.type(l.text, "string");
          assert.ok(l.text.length > 0);
          next += l.size;
        }
        assert.is(
          lines.reduce((n, l) => n + l.bytes.length, 0),
          bytes.length,
        );
      },
    ),
    { numRuns: 3000 },
  );
});

test.run();
