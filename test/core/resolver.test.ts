// The CO-RE resolver against hand-built local/target BTF pairs: every relocation
// kind, flavors, anonymous members, arrays, ambiguity and bitfield shifts. Expected
// values are computed by hand from libbpf's rules (relo_core.c).
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Btf } from "../../src/btf/btf.ts";
import { BPF_CORE } from "../../src/btf/ext.ts";
import { coreTargets, type TargetBtfs } from "../../src/core/candidates.ts";
import { essentialName } from "../../src/core/names.ts";
import { resolveCoreRelo } from "../../src/core/resolve.ts";
import { BtfBuilder } from "./btf-builder.ts";

const K = BPF_CORE;

/** One TargetBtfs per target, as a load has: resolutions (and narrowing) are kept in it. */
const targetsOf = new WeakMap<Btf, TargetBtfs>();

function resolve(local: Btf, typeId: number, access: string, kind: number, target: Btf) {
  let targets = targetsOf.get(target);
  if (!targets) {
    targets = coreTargets(target);
    targetsOf.set(target, targets);
  }
  return resolveCoreRelo(local, { insn: 0, typeId, accessStr: access, kind }, targets);
}

// Local: struct s { int a; int b; }  (what the program was compiled against)
function localS(name = "s") {
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const s = b.struct(name, 8, [
    ["a", int, 0],
    ["b", int, 32],
  ]);
  return { btf: b.build("local"), s, int };
}

// Target: struct s { long x; int b; int a; }  (fields reordered, one added)
function targetS() {
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const long = b.int("long", 8, true);
  const s = b.struct("s", 16, [
    ["x", long, 0],
    ["b", int, 64],
    ["a", int, 96],
  ]);
  return { btf: b.build("target"), s };
}

test("essential names strip the last ___flavor only", () => {
  assert.is(essentialName("task_struct___old"), "task_struct");
  assert.is(essentialName("a___b___c"), "a___b");
  assert.is(essentialName("plain"), "plain");
  assert.is(essentialName("x____y"), "x____y"); // four underscores: not a separator
  assert.is(essentialName("___x"), "___x");
});

test("FIELD_BYTE_OFFSET follows reordered members", () => {
  const l = localS();
  const t = targetS();
  const a = resolve(l.btf, l.s, "0:0", K.FIELD_BYTE_OFFSET, t.btf);
  assert.is(a.res.origVal, 0n);
  assert.is(a.res.newVal, 12n);
  assert.equal(a.targetSpec?.raw, [0, 2]);
  const b = resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, t.btf);
  assert.is(b.res.origVal, 4n);
  assert.is(b.res.newVal, 8n);
  assert.is(b.chosen?.id, t.s);
  assert.is(b.res.poison, false);
});

test("root array index scales by the root type size", () => {
  const l = localS();
  const t = targetS();
  // p[2].b: local 2*8+4, target 2*16+8
  const r = resolve(l.btf, l.s, "2:1", K.FIELD_BYTE_OFFSET, t.btf);
  assert.is(r.res.origVal, 20n);
  assert.is(r.res.newVal, 40n);
});

test("a ___flavor local type matches the plain target type", () => {
  const l = localS("s___v2");
  const t = targetS();
  const r = resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, t.btf);
  assert.equal(
    r.candidates.map((c) => c.name),
    ["s"],
  );
  assert.is(r.res.newVal, 8n);
});

test("flavored target names are candidates too (short and long names)", () => {
  for (const base of ["s", "a_rather_long_type_name"]) {
    const lb = new BtfBuilder();
    const li = lb.int("int", 4, true);
    const ls = lb.struct(`${base}___local`, 4, [["a", li, 0]]);
    const tb = new BtfBuilder();
    const ti = tb.int("int", 4, true);
    tb.struct(`${base}x`, 4, [["a", ti, 0]]); // a different type sharing the prefix
    const flavored = tb.struct(`${base}___kern`, 8, [
      ["pad", ti, 0],
      ["a", ti, 32],
    ]);
    tb.struct(`${base}___a___b`, 4, [["a", ti, 0]]); // essential name "<base>___a": not a candidate
    const r = resolve(lb.build("l"), ls, "0:0", K.FIELD_BYTE_OFFSET, tb.build("t"));
    assert.equal(
      r.candidates.map((c) => c.id),
      [flavored],
      base,
    );
    assert.is(r.res.newVal, 4n);
  }
});

test("one target, several objects: names the first object did not have are still found", () => {
  // The candidate index is built once per target BTF, on the first object's lookup;
  // a later object's names (short, flavored, sharing prefixes) must get the same
  // answers as against a fresh target.
  const tb = new BtfBuilder();
  const ti = tb.int("int", 4, true);
  const alpha = tb.struct("alpha", 4, [["a", ti, 0]]);
  const ab = tb.struct("ab___kern", 4, [["a", ti, 0]]);
  const q = tb.struct("q", 4, [["a", ti, 0]]);
  const gamma = tb.struct("gamma_long_name", 4, [["a", ti, 0]]);
  tb.struct("gamma_long_other", 4, [["a", ti, 0]]);
  const target = tb.build("t");
  const one = (name: string) => {
    const lb = new BtfBuilder();
    const li = lb.int("int", 4, true);
    const id = lb.struct(name, 4, [["a", li, 0]]);
    return { btf: lb.build("l"), id };
  };
  const ids = (name: string, t: Btf) => {
    const l = one(name);
    return resolve(l.btf, l.id, "0:0", K.FIELD_BYTE_OFFSET, t).candidates.map((c) => c.id);
  };
  assert.equal(ids("alpha", target), [alpha]);
  for (const [name, want] of [
    ["ab", [ab]],
    ["q___x", [q]],
    ["gamma_long_name", [gamma]],
    ["gamma", []],
    ["absent", []],
  ] as [string, number[]][]) {
    assert.equal(ids(name, target), want, `${name} after alpha`);
    assert.equal(ids(name, tb.build("fresh")), want, `${name} on a fresh target`);
  }
});

test("members inside anonymous structs/unions are found", () => {
  const l = localS();
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const long = b.int("long", 8, true);
  const inner = b.struct("", 8, [
    ["b", int, 0],
    ["a", int, 32],
  ]);
  const un = b.struct(
    "",
    8,
    [
      ["", inner, 0],
      ["y", long, 0],
    ],
    "union",
  );
  const s = b.struct("s", 24, [
    ["x", long, 0],
    ["", un, 64],
    ["z", long, 128],
  ]);
  const tgt = b.build("target");
  const r = resolve(l.btf, l.s, "0:0", K.FIELD_BYTE_OFFSET, tgt);
  // s.<anon union>.<anon struct>.a = 8 + 0 + 4
  assert.is(r.res.newVal, 12n);
  assert.equal(r.targetSpec?.raw, [0, 1, 0, 1]);
  assert.is(r.chosen?.id, s);
});

test("array elements: offsets, bounds, and flexible arrays", () => {
  const lb = new BtfBuilder();
  const lint = lb.int("int", 4, true);
  const larr = lb.array(lint, 4, lint);
  const ls = lb.struct("arr_s", 16, [["v", larr, 0]]);
  const local = lb.build("local");

  const tb = new BtfBuilder();
  const tint = tb.int("int", 4, true);
  const tlong = tb.int("long", 8, true);
  const tarr = tb.array(tint, 8, tint);
  tb.struct("arr_s", 40, [
    ["pad", tlong, 0],
    ["v", tarr, 64],
  ]);
  const target = tb.build("target");
  const r = resolve(local, ls, "0:0:2", K.FIELD_BYTE_OFFSET, target);
  assert.is(r.res.origVal, 8n);
  assert.is(r.res.newVal, 16n);
  const sz = resolve(local, ls, "0:0:2", K.FIELD_BYTE_SIZE, target);
  assert.is(sz.res.newVal, 4n);
  const whole = resolve(local, ls, "0:0", K.FIELD_BYTE_SIZE, target);
  assert.is(whole.res.origVal, 16n);
  assert.is(whole.res.newVal, 32n);

  // Target array too short for index 3: no match, the load would be poisoned.
  const sb = new BtfBuilder();
  const sint = sb.int("int", 4, true);
  sb.struct("arr_s", 8, [["v", sb.array(sint, 2, sint), 0]]);
  const short = resolve(local, ls, "0:0:3", K.FIELD_BYTE_OFFSET, sb.build("short"));
  assert.is(short.res.poison, true);
  const exists = resolve(local, ls, "0:0:3", K.FIELD_EXISTS, sb.build("short"));
  assert.is(exists.res.newVal, 0n);

  // A flexible last member (nelems 0) accepts any index.
  const fb = new BtfBuilder();
  const fint = fb.int("int", 4, true);
  fb.struct("arr_s", 8, [
    ["n", fint, 0],
    ["v", fb.array(fint, 0, fint), 32],
  ]);
  const flex = resolve(local, ls, "0:0:3", K.FIELD_BYTE_OFFSET, fb.build("flex"));
  assert.is(flex.res.newVal, 16n);
});

test("missing field: FIELD_EXISTS is 0, offsets are poisoned", () => {
  const l = localS();
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  b.struct("s", 4, [["a", int, 0]]);
  const t = b.build("target");
  const ex = resolve(l.btf, l.s, "0:1", K.FIELD_EXISTS, t);
  assert.is(ex.res.origVal, 1n);
  assert.is(ex.res.newVal, 0n);
  assert.is(ex.res.poison, false);
  const off = resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, t);
  assert.is(off.res.poison, true);
  assert.is(off.chosen, undefined);
  assert.is(off.candidates.length, 1);
});

test("incompatible field type does not match (int vs struct)", () => {
  const l = localS();
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const inner = b.struct("inner", 4, [["q", int, 0]]);
  b.struct("s", 8, [
    ["a", int, 0],
    ["b", inner, 32],
  ]);
  const r = resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, b.build("t"));
  assert.is(r.res.poison, true);
});

test("bitfields: byte offset, load size, both shifts, signedness", () => {
  // Local: struct bf { unsigned int f:5; }   Target: struct bf { u64 pad; u32 a:30; u32 f:6; }
  const lb = new BtfBuilder();
  const lu = lb.int("unsigned int", 4);
  const ls = lb.struct("bf", 4, [["f", lu, 0, 5]]);
  const local = lb.build("local");
  const tb = new BtfBuilder();
  const tu = tb.int("unsigned int", 4);
  const tl = tb.int("long unsigned int", 8);
  tb.struct("bf", 16, [
    ["pad", tl, 0],
    ["a", tu, 64, 30],
    ["f", tu, 94, 6],
  ]);
  const target = tb.build("target");
  const get = (kind: number) => resolve(local, ls, "0:0", kind, target).res;
  // bit 94, 6 bits: a 4-byte load at 8 would end at bit 96 < 100, so widen to 8 bytes at 8.
  assert.is(get(K.FIELD_BYTE_OFFSET).newVal, 8n);
  assert.is(get(K.FIELD_BYTE_SIZE).newVal, 8n);
  assert.is(get(K.FIELD_LSHIFT_U64).newVal, 28n); // 64 - (94 + 6 - 64)
  assert.is(get(K.FIELD_RSHIFT_U64).newVal, 58n); // 64 - 6
  assert.is(get(K.FIELD_SIGNED).newVal, 0n);
  // Local side: bit 0, 5 bits in a 4-byte unit.
  assert.is(get(K.FIELD_BYTE_SIZE).origVal, 4n);
  assert.is(get(K.FIELD_LSHIFT_U64).origVal, 59n);
  assert.is(get(K.FIELD_RSHIFT_U64).origVal, 59n);
  // Bitfield offsets are not validated against the instruction; shifts right and signedness are.
  assert.is(get(K.FIELD_BYTE_OFFSET).validate, false);
  assert.is(get(K.FIELD_RSHIFT_U64).validate, true);
  assert.is(get(K.FIELD_SIGNED).validate, true);
});

test("signed bitfield and a field inside one 4-byte unit", () => {
  const lb = new BtfBuilder();
  const li = lb.int("int", 4, true);
  const ls = lb.struct("bf2", 4, [["g", li, 0, 3]]);
  const local = lb.build("local");
  const tb = new BtfBuilder();
  const ti = tb.int("int", 4, true);
  tb.struct("bf2", 8, [
    ["x", ti, 0, 3],
    ["g", ti, 35, 3],
  ]);
  const target = tb.build("target");
  const get = (kind: number) => resolve(local, ls, "0:0", kind, target).res.newVal;
  assert.is(get(K.FIELD_BYTE_OFFSET), 4n); // 35/8/4*4
  assert.is(get(K.FIELD_BYTE_SIZE), 4n);
  assert.is(get(K.FIELD_LSHIFT_U64), 58n); // 64 - (35 + 3 - 32)
  assert.is(get(K.FIELD_RSHIFT_U64), 61n);
  assert.is(get(K.FIELD_SIGNED), 1n);
});

test("type relocations: exists, size, ids, missing types", () => {
  const l = localS();
  const t = targetS();
  assert.is(resolve(l.btf, l.s, "0", K.TYPE_EXISTS, t.btf).res.newVal, 1n);
  assert.is(resolve(l.btf, l.s, "0", K.TYPE_SIZE, t.btf).res.origVal, 8n);
  assert.is(resolve(l.btf, l.s, "0", K.TYPE_SIZE, t.btf).res.newVal, 16n);
  const id = resolve(l.btf, l.s, "0", K.TYPE_ID_TARGET, t.btf);
  assert.is(id.res.newVal, BigInt(t.s));
  assert.is(id.res.validate, false);
  const lid = resolve(l.btf, l.s, "0", K.TYPE_ID_LOCAL, t.btf);
  assert.is(lid.res.newVal, BigInt(l.s));
  const none = localS("no_such");
  assert.is(resolve(none.btf, none.s, "0", K.TYPE_EXISTS, t.btf).res.newVal, 0n);
  assert.is(resolve(none.btf, none.s, "0", K.TYPE_SIZE, t.btf).res.newVal, 0n);
  assert.is(resolve(none.btf, none.s, "0", K.TYPE_MATCHES, t.btf).res.newVal, 0n);
});

test("TYPE_MATCHES is stricter than TYPE_EXISTS", () => {
  const l = localS();
  // Every local member exists with the same int size and signedness: match.
  assert.is(resolve(l.btf, l.s, "0", K.TYPE_MATCHES, targetS().btf).res.newVal, 1n);
  // Member a is unsigned in the target: exists, but does not match.
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const uint = b.int("unsigned int", 4);
  b.struct("s", 8, [
    ["a", uint, 0],
    ["b", int, 32],
  ]);
  const t2 = b.build("t2");
  assert.is(resolve(l.btf, l.s, "0", K.TYPE_EXISTS, t2).res.newVal, 1n);
  assert.is(resolve(l.btf, l.s, "0", K.TYPE_MATCHES, t2).res.newVal, 0n);
  // A union of the same name is not the struct.
  const u = new BtfBuilder();
  const ui = u.int("int", 4, true);
  u.struct(
    "s",
    4,
    [
      ["a", ui, 0],
      ["b", ui, 0],
    ],
    "union",
  );
  assert.is(resolve(l.btf, l.s, "0", K.TYPE_MATCHES, u.build("u")).res.newVal, 0n);
});

test("enum relocations: by enumerator name, values from the target, sign extension", () => {
  const lb = new BtfBuilder();
  const le = lb.enum("color", [
    ["RED", 0],
    ["GREEN", 1],
    ["BLUE___new", 2],
  ]);
  const local = lb.build("local");
  const tb = new BtfBuilder();
  tb.enum(
    "color",
    [
      ["GREEN", 7],
      ["RED", -1],
    ],
    true,
  );
  const target = tb.build("target");
  assert.is(resolve(local, le, "1", K.ENUMVAL_VALUE, target).res.newVal, 7n);
  assert.is(resolve(local, le, "0", K.ENUMVAL_VALUE, target).res.newVal, 0xffffffffffffffffn);
  assert.is(resolve(local, le, "0", K.ENUMVAL_EXISTS, target).res.newVal, 1n);
  assert.is(resolve(local, le, "2", K.ENUMVAL_EXISTS, target).res.newVal, 0n);
  assert.is(resolve(local, le, "2", K.ENUMVAL_VALUE, target).res.poison, true);
});

test("candidates that disagree are an ambiguity error", () => {
  const l = localS();
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  b.struct("s", 8, [
    ["a", int, 0],
    ["b", int, 32],
  ]);
  b.struct("s___other", 12, [
    ["x", int, 0],
    ["a", int, 32],
    ["b", int, 64],
  ]);
  const t = b.build("t");
  assert.throws(() => resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, t), /ambiguity|ambiguous/);
  // Candidates that agree are fine.
  const a = new BtfBuilder();
  const ai = a.int("int", 4, true);
  a.struct("s", 8, [
    ["a", ai, 0],
    ["b", ai, 32],
  ]);
  a.struct("s___same", 8, [
    ["a", ai, 0],
    ["b", ai, 32],
  ]);
  const ok = resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, a.build("a"));
  assert.is(ok.candidates.length, 2);
  assert.is(ok.res.newVal, 4n);
});

test("repeated records give the same answer, from the candidates left after narrowing", () => {
  const l = localS();
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const only = b.struct("s", 4, [["a", int, 0]]);
  const both = b.struct("s___v2", 8, [
    ["a", int, 0],
    ["b", int, 32],
  ]);
  const t = b.build("t");
  const a1 = resolve(l.btf, l.s, "0:0", K.FIELD_BYTE_OFFSET, t);
  assert.equal(
    a1.candidates.map((c) => c.id),
    [only, both],
  );
  assert.is(a1.chosen?.id, only);
  // Only s___v2 has b: the candidates of s narrow to it (libbpf's cand_cache does too).
  const b1 = resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, t);
  assert.is(b1.chosen?.id, both);
  assert.is(b1.res.newVal, 4n);
  const b2 = resolve(l.btf, l.s, "0:1", K.FIELD_BYTE_OFFSET, t);
  assert.equal(b2.res, b1.res);
  assert.equal(b2.targetSpec?.raw, b1.targetSpec?.raw);
  assert.equal(
    b2.candidates.map((c) => c.id),
    [both],
  );
  // Asking for a again answers from the narrowed list, not from the first answer.
  const a2 = resolve(l.btf, l.s, "0:0", K.FIELD_BYTE_OFFSET, t);
  assert.equal(
    a2.candidates.map((c) => c.id),
    [both],
  );
  assert.is(a2.chosen?.id, both);
  assert.is(a2.res.newVal, 0n);
});

test("anonymous local types and bad access strings are errors", () => {
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const anon = b.struct("", 4, [["a", int, 0]]);
  const local = b.build("l");
  assert.throws(() => resolve(local, anon, "0:0", K.FIELD_BYTE_OFFSET, targetS().btf), /anonymous/);
  const l = localS();
  assert.throws(() => resolve(l.btf, l.s, "0:9", K.FIELD_BYTE_OFFSET, targetS().btf), /member #9/);
  assert.throws(() => resolve(l.btf, l.s, "1", K.TYPE_EXISTS, targetS().btf), /expects "0"/);
});

test.run();
