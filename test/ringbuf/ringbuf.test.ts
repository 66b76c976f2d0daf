import { test } from "uvu";
import * as assert from "uvu/assert";
import { LossCounter } from "../../src/ringbuf/loss.ts";
import { BATCH_BYTES, BPF_RINGBUF_HDR_SZ, RingBufReader } from "../../src/ringbuf/reader.ts";
import { privileged } from "../helpers/env.ts";
import { CNT_ATTEMPTS, CNT_FAILED, checkMixed, mixedSize, Producers } from "./producers.ts";

const root = privileged("ring buffer tests");

test("mixed-size records crossing the wrap point arrive intact and in order over >= 3 laps", () => {
  if (!root) return;
  const p = new Producers({ rbSize: 16384 });
  const r = new RingBufReader(p.rb);
  try {
    let next = 0;
    let bytes = 0;
    const errors: string[] = [];
    // Each run emits 7 records (one of each size, ~7.8 KiB) into a 16 KiB ring, then we
    // drain: 40 runs = ~19 laps, with records starting at every kind of offset.
    for (let run = 0; run < 40; run++) {
      assert.is(p.run("emit_mixed", 7, next), 7); // bpf_loop returns the iterations run
      r.consume((v, off, len) => {
        const e = checkMixed(v, off, len, next);
        if (e && errors.length < 5) errors.push(e);
        bytes += (len + 8 + 7) & ~7;
        next++;
      });
    }
    assert.equal(errors, []);
    assert.is(next, 280);
    assert.is(p.counter(CNT_FAILED), 0);
    assert.ok(bytes / r.size >= 3, `only ${bytes / r.size} laps`);
    assert.is(r.available(), 0);
  } finally {
    r.close();
    p.close();
  }
});

test("a record wrapping the end of the ring reads contiguously (double-mapped data pages)", () => {
  if (!root) return;
  const p = new Producers({ rbSize: 8192 });
  const r = new RingBufReader(p.rb);
  try {
    // seq 6 is 4000 bytes; after 5 records of 8..2500 (3792 bytes + headers) and one
    // more 4000-byte record the position passes 8192 inside a record.
    let next = 0;
    let wrapped = 0;
    for (let run = 0; run < 20; run++) {
      const seqs = [next, next + 1];
      p.run("emit_mixed", 2, next);
      r.consume((v, off, len) => {
        const start = off - 8 - 4096; // offset inside the data area
        if (start + 8 + len > r.size) wrapped++;
        assert.is(checkMixed(v, off, len, next), "");
        assert.is(len, mixedSize(next));
        next++;
      });
      assert.is(next, seqs[1] + 1);
    }
    assert.ok(wrapped > 0, "no record crossed the wrap point");
  } finally {
    r.close();
    p.close();
  }
});

test("discarded records are skipped", () => {
  if (!root) return;
  const p = new Producers();
  const r = new RingBufReader(p.rb);
  try {
    p.run("emit_small", 30, 1000, 4);
    const codec = p.codec("rb_small");
    const seqs: number[] = [];
    r.consume((v, off) => {
      const e = codec.decode(v, off) as { seq: bigint; value: bigint };
      assert.is(e.value, e.seq * 3n);
      seqs.push(Number(e.seq));
    });
    const want = Array.from({ length: 30 }, (_, i) => 1000 + i).filter((s) => s % 4 !== 0);
    assert.equal(seqs, want);
    assert.is(r.available(), 0);
  } finally {
    r.close();
    p.close();
  }
});

test("consume: limit, beforeCommit, a throwing callback releases its record, each reader its own loop", () => {
  if (!root) return;
  const p = new Producers({ rbSize: 16384 });
  const q = new Producers({ rbSize: 8192 });
  const r = new RingBufReader(p.rb);
  const r2 = new RingBufReader(q.rb);
  try {
    // limit: the rest stays; beforeCommit runs before consumer_pos moves.
    p.run("emit_small", 20, 0, 7);
    const seqs: number[] = [];
    const take = (v: DataView, off: number, len: number) => {
      assert.is(len, 64);
      seqs.push(v.getUint32(off, true));
    };
    let availInHook = -1;
    assert.is(
      r.consume(take, 5, () => {
        availInHook = r.available();
      }),
      5,
    );
    assert.ok(availInHook > 0);
    const before = r.available();
    assert.ok(before > 0 && before < availInHook);
    assert.is(r.consume(take), 12);
    assert.equal(
      seqs,
      Array.from({ length: 20 }, (_, i) => i).filter((s) => s % 7 !== 0),
    );
    assert.is(r.available(), 0);

    // The record a callback throws on counts as consumed; the ones before it too, the
    // ones after it stay for the next call.
    p.run("emit_small", 4, 50);
    const seen: number[] = [];
    assert.throws(
      () =>
        r.consume((v, off) => {
          const seq = v.getUint32(off, true);
          seen.push(seq);
          if (seq === 51) throw new Error("bad record");
        }),
      /bad record/,
    );
    assert.equal(seen, [50, 51]);
    assert.is(r.consume(take), 2);
    assert.equal(seqs.slice(-2), [52, 53]);
    assert.is(r.available(), 0);

    // Two readers, several different callbacks each, interleaved: every reader's
    // compiled loop stays correct whatever the other one has seen (mixed sizes, wrap).
    let next = 0;
    let next2 = 0;
    const errors: string[] = [];
    for (let run = 0; run < 30; run++) {
      p.run("emit_mixed", 7, next);
      q.run("emit_mixed", 3, next2);
      const check = (v: DataView, off: number, len: number) => {
        const e = checkMixed(v, off, len, next++);
        if (e && errors.length < 5) errors.push(e);
      };
      const check2 = [
        (v: DataView, off: number, len: number) => {
          const e = checkMixed(v, off, len, next2++);
          if (e && errors.length < 5) errors.push(`r2: ${e}`);
        },
        (v: DataView, off: number, len: number) => {
          if (v.getUint32(off, true) !== next2 || len !== mixedSize(next2)) errors.push(`r2 seq ${next2}`);
          next2++;
        },
      ][run % 2];
      assert.is(r.consume(check), 7);
      assert.is(r2.consume(check2), 3);
    }
    assert.equal(errors, []);
    assert.is(next, 210);
    assert.is(next2, 90);
  } finally {
    r2.close();
    r.close();
    q.close();
    p.close();
  }
});

test("a tiny ring under load reports exactly the records lost (produced = received + lost)", () => {
  if (!root) return;
  const p = new Producers({ rbSize: 4096 });
  const loss = new LossCounter(p.counters, CNT_FAILED);
  const r = new RingBufReader(p.rb, { loss });
  try {
    let received = 0;
    let lastSeq = -1;
    let deltas = 0;
    for (let run = 0; run < 50; run++) {
      // 300 × 72-byte records into a 4 KiB ring (room for 56): most fail, and are counted.
      p.run("emit_small", 300, run * 300);
      r.consume((v, off) => {
        const seq = Number(v.getBigUint64(off, true));
        assert.ok(seq > lastSeq, "records out of order");
        lastSeq = seq;
        received++;
      });
      deltas += loss.delta();
    }
    const produced = p.counter(CNT_ATTEMPTS);
    assert.is(produced, 50 * 300);
    assert.ok(r.lost() > 0, "nothing was lost: the ring is not tiny enough");
    assert.is(received + r.lost(), produced);
    assert.is(deltas, r.lost());
    assert.is(loss.delta(), 0);
  } finally {
    r.close();
    p.close();
  }
});

test("records() yields BTF-decoded values and ends on abort", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new RingBufReader(p.rb);
  try {
    const ac = new AbortController();
    const got: bigint[] = [];
    setTimeout(() => p.run("emit_small", 20, 0, 0), 50);
    for await (const e of r.records<{ seq: bigint }>({ signal: ac.signal, decode: p.codec("rb_small") })) {
      got.push(e.seq);
      if (got.length === 20) ac.abort();
    }
    assert.equal(
      got,
      Array.from({ length: 20 }, (_, i) => BigInt(i)),
    );
  } finally {
    r.close();
    p.close();
  }
});

test("onBatch hands out zero-copy windows and stops on close()", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new RingBufReader(p.rb);
  try {
    const seqs: number[] = [];
    const done = r.onBatch((views) => {
      for (const v of views) {
        assert.is(v.byteLength, 64);
        seqs.push(Number(v.getBigUint64(0, true)));
      }
      if (seqs.length >= 100) r.close();
    });
    p.run("emit_small", 60, 0);
    setTimeout(() => p.run("emit_small", 40, 60), 30);
    await done;
    assert.equal(
      seqs,
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.ok(r.isClosed);
  } finally {
    r.close();
    p.close();
  }
});

test("consumeBatch: offsets/lengths of every ready record in one call, wrap, discards, limit, release on throw", () => {
  if (!root) return;
  const p = new Producers({ rbSize: 16384 });
  const r = new RingBufReader(p.rb);
  try {
    // Mixed sizes over many laps: every record intact, in order, via the offsets array.
    let next = 0;
    let calls = 0;
    const errors: string[] = [];
    for (let run = 0; run < 30; run++) {
      p.run("emit_mixed", 7, next);
      const n = r.consumeBatch((v, offs, lens, count) => {
        calls++;
        for (let i = 0; i < count; i++) {
          const e = checkMixed(v, offs[i], lens[i], next);
          if (e && errors.length < 5) errors.push(e);
          next++;
        }
      });
      assert.is(n, 7);
    }
    assert.equal(errors, []);
    assert.is(next, 210);
    assert.is(calls, 30);
    assert.is(r.available(), 0);

    // Discards are skipped; `limit` caps one batch and the rest stays for the next.
    p.run("emit_small", 40, 0, 5);
    const seqs: number[] = [];
    const take = (v: DataView, offs: Int32Array, lens: Int32Array, count: number) => {
      for (let i = 0; i < count; i++) {
        assert.is(lens[i], 64);
        seqs.push(v.getUint32(offs[i], true));
      }
    };
    assert.is(r.consumeBatch(take, 10), 10);
    assert.ok(r.available() > 0);
    assert.is(r.consumeBatch(take), 22);
    assert.equal(
      seqs,
      Array.from({ length: 40 }, (_, i) => i).filter((s) => s % 5 !== 0),
    );
    assert.is(r.consumeBatch(take), 0);

    // A throwing consumer still gives the space back (the ring cannot wedge).
    p.run("emit_small", 3, 100);
    assert.throws(() =>
      r.consumeBatch(() => {
        throw new Error("bad record");
      }),
    );
    assert.is(r.available(), 0);
  } finally {
    r.close();
    p.close();
  }
});

test("consumeBatch: `words` reads the same u32s as the view; a batch spans at most BATCH_BYTES", () => {
  if (!root) return;
  const p = new Producers({ rbSize: 1 << 20 });
  const r = new RingBufReader(p.rb);
  try {
    // 1500 records of 512 bytes (+ 8 header) = 780 KB of ring: more than BATCH_BYTES.
    const SIZE = 512;
    const COUNT = 1500;
    assert.is(p.run("bench", COUNT, 1000, 0, SIZE), COUNT);
    const seqs: number[] = [];
    const spans: number[] = [];
    let mismatches = 0;
    while (
      r.consumeBatch((v, offs, lens, count, words) => {
        spans.push(count * (SIZE + BPF_RINGBUF_HDR_SZ));
        for (let i = 0; i < count; i++) {
          const o = offs[i];
          assert.is(o % 8, 0, "records start 8-byte aligned");
          assert.is(lens[i], SIZE);
          for (let k = 0; k < 6; k++) if (words[(o >> 2) + k] !== v.getUint32(o + 4 * k, true)) mismatches++;
          seqs.push(words[o >> 2] + words[(o >> 2) + 1] * 4294967296);
        }
      }) > 0
    );
    assert.is(mismatches, 0);
    assert.equal(
      seqs,
      Array.from({ length: COUNT }, (_, i) => 1000 + i),
    );
    assert.ok(spans.length > 1, `one batch spanned ${spans[0]} bytes`);
    // The walk stops at the first record that reaches the cap.
    for (const b of spans)
      assert.ok(b < BATCH_BYTES + SIZE + BPF_RINGBUF_HDR_SZ, `a batch spanned ${b} bytes`);
    assert.is(r.available(), 0);
  } finally {
    r.close();
    p.close();
  }
});

test("rejects a map that is not a power-of-two ring", () => {
  assert.throws(() => new RingBufReader({ fd: 0, maxEntries: 5000 }), /power of two/);
});

test.run();
