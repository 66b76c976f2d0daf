// The type-section scan (src/btf/scan.ts) has a word-at-a-time path for aligned
// little-endian input and a validating byte-offset path for the rest, which also
// reports every bad record. Whatever the input, both must agree: the same offsets and
// kinds, or the same BtfError. A copy at an odd address forces the validating path.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Btf } from "../../src/btf/btf.ts";
import { btfBlob, committedObjects, elfSection } from "./helpers.ts";

/** `bytes` placed at an odd byte offset, so no 32-bit view of it is aligned. */
function misaligned(bytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes, 1);
  return buf.subarray(1);
}

type Outcome = { error: string } | { length: number; offsets: number[]; kinds: string[] };

function outcome(bytes: Uint8Array): Outcome {
  try {
    const btf = Btf.parse(bytes, { name: "t" });
    const offsets: number[] = [];
    const kinds: string[] = [];
    for (let id = 1; id < btf.length; id++) {
      offsets.push(btf.offsetOf(id));
      kinds.push(btf.kind(id));
    }
    return { length: btf.length, offsets, kinds };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function objectBtf(): Uint8Array {
  const obj = committedObjects().find((f) => f.endsWith("process.bpf.o"));
  assert.ok(obj, "bpf/process.bpf.o is committed");
  const sec = elfSection(new Uint8Array(readFileSync(obj)), ".BTF");
  assert.ok(sec, ".BTF in process.bpf.o");
  return sec.slice();
}

test("aligned and misaligned copies of a real .BTF scan the same", () => {
  const btf = objectBtf();
  const a = outcome(btf);
  assert.ok("length" in a && a.length > 100, "the object's BTF parses");
  assert.equal(outcome(misaligned(btf)), a);
});

test("corrupted type sections: both paths give the same tables or the same error", () => {
  const base = objectBtf();
  const dv = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const hdrLen = dv.getUint32(4, true);
  const typeStart = hdrLen + dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  // Mostly the info word of some record area (kind and vlen), sometimes any byte, and
  // sometimes a shorter type_len (truncated last record).
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(typeLen - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat(typeLen), { nil: undefined }),
      (flips, cut) => {
        const b = base.slice();
        for (const [at, v] of flips) b[typeStart + at] = v;
        if (cut !== undefined) new DataView(b.buffer).setUint32(12, cut, true);
        const fast = outcome(b);
        assert.equal(outcome(misaligned(b)), fast);
      },
    ),
    { numRuns: 300 },
  );
});

test("bad records are reported the same way on the word path", () => {
  const make = (typeLen: number, info: number) => {
    const { b, dv } = btfBlob(typeLen, 1);
    // One valid INT first, so the bad record is #2 at offset 0x28.
    dv.setUint32(24 + 4, 1 << 24, true);
    dv.setUint32(24 + 8, 4, true);
    dv.setUint32(24 + 12, 32, true);
    if (typeLen >= 28) dv.setUint32(40 + 4, info, true);
    return b;
  };
  const err = (b: Uint8Array) => (outcome(b) as { error?: string }).error ?? "";
  assert.match(err(make(28, 25 << 24)), /type #2 at offset 0x28: unknown kind 25/);
  assert.match(err(make(40, (4 << 24) | 2)), /type #2 at offset 0x28: vlen 2 of struct runs past end/);
  assert.match(err(make(24, 0)), /type #2 at offset 0x28: truncated type record \(8 bytes left/);
  for (const [len, info] of [
    [28, 25 << 24],
    [40, (4 << 24) | 2],
    [24, 0],
  ] as const) {
    const b = make(len, info);
    assert.equal(outcome(misaligned(b)), outcome(b));
  }
});

test.run();
