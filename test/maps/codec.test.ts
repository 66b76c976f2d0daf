import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CodecError, enumName, makeCodec } from "../../src/btf/codec.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";

const spec = readCollectionSpec(new Uint8Array(readFileSync("test/fixtures/maps.bpf.o")), "maps.bpf.o");
const btf = spec.btf!;
const map = (n: string) => spec.maps.find((m) => m.name === n)!;

test("struct flow_value: ints, signed, enum, array, bitfields round-trip", () => {
  const c = makeCodec(btf, map("hash").btfValueTypeId);
  assert.is(c.size, 24);
  const v = { count: 123456789012n, delta: -5, state: 1, samples: [1, 2, 65535], flag_a: 1, flag_b: 5 };
  const bytes = c.encode(v);
  assert.is(bytes.length, 24);
  const dv = new DataView(bytes.buffer);
  // layout per C: count @0, delta @8, state @12, samples @16, bitfields @22
  assert.is(dv.getBigUint64(0, true), 123456789012n);
  assert.is(dv.getInt32(8, true), -5);
  assert.is(dv.getUint16(20, true), 65535);
  assert.is(bytes[22], 1 | (5 << 1));
  assert.equal(c.decode(dv), v);
  // enum by name, and enumName for the reverse lookup
  const b2 = c.encode({ state: "STATE_GONE" });
  const d2 = c.decode(new DataView(b2.buffer)) as { state: number };
  assert.is(d2.state, -1);
  const st = btf.findByNameKind("value_state", "enum")[0];
  assert.is(enumName(btf, st, -1), "STATE_GONE");
});

test("struct flow_key: char array as string up to NUL, raw option", () => {
  const c = makeCodec(btf, map("flows").btfKeyTypeId);
  assert.is(c.size, 12);
  const k = { id: 7, port: 443, proto: 6, tag: "abc" };
  const b = c.encode(k);
  assert.equal(c.decode(new DataView(b.buffer)), k);
  const full = c.encode({ tag: "abcde" });
  assert.is((c.decode(new DataView(full.buffer)) as { tag: string }).tag, "abcde");
  const raw = makeCodec(btf, map("flows").btfKeyTypeId, { rawChars: true });
  const r = raw.decode(new DataView(b.buffer)) as { tag: Uint8Array };
  assert.equal([...r.tag], [97, 98, 99, 0, 0]);
});

test("decode at an offset; u64/s64 as bigint; u32 as number", () => {
  const ph = map("percpu_hash");
  const kc = makeCodec(btf, ph.btfKeyTypeId);
  const vc = makeCodec(btf, ph.btfValueTypeId);
  const buf = new Uint8Array(32);
  vc.encode(-9n, buf.subarray(8));
  assert.is(vc.decode(new DataView(buf.buffer), 8), -9n);
  assert.is(kc.size, 8);
  assert.is(makeCodec(btf, map("hash").btfKeyTypeId).decode(new DataView(new Uint32Array([42]).buffer)), 42);
});

test("errors name the field path and what was expected", () => {
  const c = makeCodec(btf, map("hash").btfValueTypeId);
  const cases: [unknown, RegExp][] = [
    [{ delta: 2 ** 31 }, /^value\.delta: 2147483648 does not fit/],
    [{ samples: [1, 2, 3, 4] }, /^value\.samples: 4 elements do not fit \[3\]/],
    [{ samples: [1, -1] }, /^value\.samples\[1\]: -1 does not fit/],
    [{ flag_b: 8 }, /^value\.flag_b: 8 does not fit a 3-bit field/],
    [{ state: "NOPE" }, /not a value of enum value_state/],
    [{ bogus: 1 }, /^value\.bogus: no such member/],
    [{ count: "x" }, /^value\.count: expected an integer/],
    [42, /^value: expected an object/],
  ];
  for (const [v, re] of cases) {
    try {
      c.encode(v);
      assert.unreachable(
        `should reject ${JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x))}`,
      );
    } catch (e) {
      assert.instance(e, CodecError);
      assert.match((e as Error).message, re);
    }
  }
  const k = makeCodec(btf, map("flows").btfKeyTypeId);
  assert.throws(() => k.encode({ tag: "toolong" }), /value\.tag: 7 bytes do not fit char\[5\]/);
  assert.throws(() => c.decode(new DataView(new ArrayBuffer(8))), /needs 24 bytes/);
});

test("decode of a 4-field struct over many records stays correct (hot-path check)", () => {
  // struct flow_key { u32 id; u16 port; u8 proto; char tag[5]; }: 4 fields, 12 bytes.
  const c = makeCodec(btf, map("flows").btfKeyTypeId);
  assert.is(c.size, 12);
  const n = 100_000;
  const buf = new Uint8Array(n * 12);
  const dv = new DataView(buf.buffer);
  for (let i = 0; i < n; i++) {
    dv.setUint32(i * 12, i, true);
    dv.setUint16(i * 12 + 4, i & 0xffff, true);
    buf[i * 12 + 6] = i & 0xff;
    buf.set([116, 115, 98, 112, 102].slice(0, i % 6), i * 12 + 7);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = c.decode(dv, i * 12) as { id: number; port: number; proto: number; tag: string };
    if (e.id !== i || e.port !== (i & 0xffff) || e.proto !== (i & 0xff) || e.tag !== "tsbpf".slice(0, i % 6))
      assert.unreachable(`record ${i}: ${JSON.stringify(e)}`);
    sum += e.id;
  }
  assert.is(sum, (n * (n - 1)) / 2);
});

test("types without a value layout are rejected", () => {
  const fn = btf.findByNameKind("exercise", "func")[0];
  assert.throws(() => makeCodec(btf, fn), /cannot encode or decode a func/);
});

test.run();
