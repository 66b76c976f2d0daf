// RingBufReaderOptions.maxRecordSize: the reader maps only as much of the data pages'
// second copy as the longest record can run into, and still reads wrapping records
// contiguously; a record that runs past that is skipped and reported, never read out of
// bounds, and the ring moves on.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compileConsumeLoop } from "../../src/binary/consume-loop.ts";
import {
  type ConsumeLoopFactory,
  type ConsumeLoopState,
  consumeLoop,
} from "../../src/ringbuf/consume-loop.ts";
import { RingBufReader, wrapTailBytes } from "../../src/ringbuf/reader.ts";
import { privileged } from "../helpers/env.ts";
import { checkMixed, Producers } from "./producers.ts";

const root = privileged("ring buffer tests");
const PAGE = 4096;

/** Lengths of this process's ring-buffer mappings (/proc/self/maps, proc(5)). */
function ringMappings(): number[] {
  return readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter((l) => l.endsWith("anon_inode:bpf-map"))
    .map((l) => {
      const [lo, hi] = (l.split(" ")[0] as string).split("-");
      return Number(BigInt(`0x${hi}`) - BigInt(`0x${lo}`));
    });
}

test("wrapTailBytes: whole pages enough for the longest record and its header, at most the ring", () => {
  assert.is(wrapTailBytes(16384, undefined), 16384);
  assert.is(wrapTailBytes(16384, 4000), PAGE);
  assert.is(wrapTailBytes(16384, 4088), PAGE);
  assert.is(wrapTailBytes(16384, 4089), 2 * PAGE);
  assert.is(wrapTailBytes(8192, 100_000), 8192);
});

test("maxRecordSize must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new RingBufReader({ fd: -1, maxEntries: 4096 }, { maxRecordSize: bad }),
      /maxRecordSize .* is not a positive integer/,
    );
  }
});

test("with maxRecordSize the second copy is mapped one page deep, and wrapping records still read intact", () => {
  if (!root) return;
  const p = new Producers({ rbSize: 16384 });
  const q = new Producers({ rbSize: 8192 });
  const before = ringMappings();
  // The longest mixed record is 4000 bytes: one page of the second copy is enough.
  const r = new RingBufReader(p.rb, { maxRecordSize: 4000 });
  const r2 = new RingBufReader(q.rb, { maxRecordSize: 4000, consumeLoop: compileConsumeLoop });
  try {
    // The mappings that appeared (a multiset difference: other maps may be mapped too).
    const added = ringMappings();
    for (const len of before) added.splice(added.indexOf(len), 1);
    // Per reader: the consumer page, and the producer page + data + one page.
    assert.equal(
      added.sort((a, b) => a - b),
      [PAGE, PAGE, PAGE + 8192 + PAGE, PAGE + 16384 + PAGE],
    );
    let next = 0;
    let next2 = 0;
    let wrapped = 0;
    const errors: string[] = [];
    const check = (v: DataView, off: number, len: number) => {
      if (off - PAGE + len > r.size) wrapped++;
      const e = checkMixed(v, off, len, next++);
      if (e && errors.length < 5) errors.push(e);
    };
    // ~19 laps of the 16 KiB ring through each consume path in turn, ~17 of the 8 KiB one.
    for (let run = 0; run < 40; run++) {
      p.run("emit_mixed", 7, next);
      q.run("emit_mixed", 3, next2);
      if (run % 3 === 0) assert.is(r.consume(check), 7);
      else if (run % 3 === 1) assert.is(r.consumeEach(check), 7);
      else {
        r.consumeBatch((v, offs, lens, n) => {
          for (let i = 0; i < n; i++) check(v, offs[i] as number, lens[i] as number);
        });
      }
      assert.is(
        r2.consume((v, off, len) => {
          const e = checkMixed(v, off, len, next2++);
          if (e && errors.length < 5) errors.push(`compiled loop: ${e}`);
        }),
        3,
      );
    }
    assert.equal(errors, []);
    assert.is(next, 280);
    assert.is(next2, 120);
    assert.ok(wrapped > 0, "no record crossed the wrap point");
  } finally {
    r2.close();
    r.close();
    q.close();
    p.close();
  }
});

/**
 * A synthetic mapping: producer page, an 8 KiB data area and one page of its second
 * copy, holding records of `lens` bytes from position 0. Returns the loop state.
 */
function synthetic(lens: number[], discard = new Set<number>()): ConsumeLoopState {
  const size = 8192;
  const buf = new ArrayBuffer(PAGE + size + PAGE);
  const ro32 = new Uint32Array(buf);
  let pos = 0;
  for (const len of lens) {
    // BPF_RINGBUF_DISCARD_BIT (1 << 30) on the lengths in `discard`.
    ro32[(PAGE + (pos % size)) >>> 2] = discard.has(len) ? (len | 0x4000_0000) >>> 0 : len;
    pos += (len + 8 + 7) & ~7;
  }
  const prod64 = new BigUint64Array(buf, 0, 1);
  prod64[0] = BigInt(pos);
  return { size, ro: new DataView(buf), ro32, prod64, end: buf.byteLength, pos: 0, walked: 0, overlong: 0 };
}

for (const [name, factory] of [
  ["library loop", consumeLoop],
  ["compiled loop", compileConsumeLoop],
] as [string, ConsumeLoopFactory][]) {
  test(`${name}: a record running past the mapped tail is skipped and reported, then the walk goes on`, () => {
    const loop = factory(PAGE, false);
    // 8000 bytes at 0, then 6000 bytes at 8008: it wraps and would end at 14024, past
    // the mapping's 12288; then 100 bytes at 14016 - 8192 = 5824 in the first copy.
    const st = synthetic([8000, 6000, 100]);
    const seen: number[] = [];
    assert.is(
      loop(st, (_v, _off, len) => seen.push(len), 100),
      1,
    );
    assert.equal(seen, [8000]);
    assert.is(st.overlong, 6000);
    assert.is(st.walked, 8008 + 6008);
    st.pos = st.walked;
    st.walked = 0;
    st.overlong = 0;
    assert.is(
      loop(st, (_v, off, len) => seen.push(len, off), 100),
      1,
    );
    assert.equal(seen, [8000, 100, PAGE + 5824 + 8]);
    assert.is(st.overlong, 0);
  });

  test(`${name}: a discarded record past the mapped tail is skipped like any discard, nothing reported`, () => {
    const loop = factory(PAGE, false);
    const st = synthetic([8000, 6000, 100], new Set([6000]));
    const seen: number[] = [];
    assert.is(
      loop(st, (_v, _off, len) => seen.push(len), 100),
      2,
    );
    assert.equal(seen, [8000, 100]);
    assert.is(st.overlong, 0);
    assert.is(st.walked, 8008 + 6008 + 112);
  });
}

test.run();
