// Reader.u64OrNeg: the message-free u64 read used in per-entry loops must agree with
// u64() on every value that fits a JS number and return -1 where u64() throws.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ElfError } from "../../src/elf/errors.ts";
import { Reader } from "../../src/elf/reader.ts";

function readerOf(v: bigint): Reader {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return new Reader(b, "x.o");
}

test("u64OrNeg matches u64 up to 2^53-1 and is -1 above", () => {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  for (const v of [0n, 1n, 0xffffffffn, 0x100000000n, max - 1n, max]) {
    const r = readerOf(v);
    assert.is(r.u64OrNeg(0), Number(v));
    assert.is(r.u64OrNeg(0), r.u64(0, "f"));
  }
  for (const v of [max + 1n, 1n << 63n, (1n << 64n) - 1n]) {
    const r = readerOf(v);
    assert.is(r.u64OrNeg(0), -1);
    assert.throws(
      () => r.u64(0, "f"),
      (e: unknown) => e instanceof ElfError,
    );
  }
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
      const r = readerOf(v);
      if (v <= max) assert.is(r.u64OrNeg(0), Number(v));
      else assert.is(r.u64OrNeg(0), -1);
    }),
    { numRuns: 2000 },
  );
});

test.run();
