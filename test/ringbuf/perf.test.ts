import { test } from "uvu";
import * as assert from "uvu/assert";
import { PerfReader } from "../../src/perf/reader.ts";
import { openEventReader } from "../../src/ringbuf/open.ts";
import { RingBufReader } from "../../src/ringbuf/reader.ts";
import { numPossibleCpus } from "../../src/sys/cpus.ts";
import { privileged } from "../helpers/env.ts";
import { CNT_ATTEMPTS, CNT_FAILED, checkMixed, Producers } from "./producers.ts";

const root = privileged("perf buffer tests");
const cpus = root ? numPossibleCpus() : 1;

test("perf reader: mixed-size records wrapping the per-CPU rings arrive intact and in order", () => {
  if (!root) return;
  const p = new Producers();
  // 4 data pages (16 KiB) per CPU: 4000-byte samples wrap the end of the ring regularly.
  const r = new PerfReader(p.perf, { pages: 4 });
  try {
    let next = 0;
    let bytes = 0;
    const errors: string[] = [];
    for (let run = 0; run < 40; run++) {
      assert.is(p.runPerf(7, next, run % cpus), 7);
      r.consume((v, off, len) => {
        const e = checkMixed(v, off, len, next);
        if (e && errors.length < 5) errors.push(e);
        bytes += len + 12;
        next++;
      });
    }
    assert.equal(errors, []);
    assert.is(next, 280);
    assert.ok(bytes / (16384 * cpus) >= 3, "fewer than 3 laps per ring");
    assert.is(r.lost(), 0);
    assert.is(p.counter(CNT_FAILED), 0);
  } finally {
    r.close();
    p.close();
  }
});

test("perf reader: a tiny per-CPU ring reports PERF_RECORD_LOST counts (produced = received + lost)", () => {
  if (!root) return;
  const p = new Producers();
  const r = new PerfReader(p.perf, { pages: 1, cpus: [0] });
  try {
    let received = 0;
    let next = 0;
    for (let run = 0; run < 10; run++) {
      // 40 mixed records (~45 KiB) into a 4 KiB ring without draining: most are dropped.
      p.runPerf(40, next, 0);
      next += 40;
      r.consume(() => {
        received++;
      });
    }
    // The kernel writes the LOST record once space is free again: one more sample flushes it.
    p.runPerf(1, next, 0);
    r.consume(() => {
      received++;
    });
    const produced = p.counter(CNT_ATTEMPTS);
    assert.is(produced, 401);
    assert.ok(r.lost() > 0, "nothing lost: ring not tiny enough");
    assert.is(received + r.lost(), produced);
    // The producer's own failure count agrees with the kernel's LOST records.
    assert.is(p.counter(CNT_FAILED), r.lost());
  } finally {
    r.close();
    p.close();
  }
});

test("perf reader: records() and close() from the same API", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new PerfReader(p.perf, { pages: 2 });
  try {
    setTimeout(() => p.runPerf(5, 100, 0), 30);
    const seqs: number[] = [];
    for await (const rec of r.records()) {
      seqs.push(new DataView(rec.buffer, rec.byteOffset).getUint32(0, true));
      if (seqs.length === 5) r.close();
    }
    assert.equal(seqs, [100, 101, 102, 103, 104]);
  } finally {
    r.close();
    p.close();
  }
});

test("openEventReader picks the ring buffer on this kernel, perf when forced", () => {
  if (!root) return;
  const p = new Producers();
  try {
    const a = openEventReader({ ringbuf: p.rb, perf: p.perf });
    assert.ok(a instanceof RingBufReader);
    a.close();
    const b = openEventReader({ ringbuf: p.rb, perf: p.perf, prefer: "perf" });
    assert.ok(b instanceof PerfReader);
    b.close();
    assert.throws(() => openEventReader({}), /ringbuf map, a perf_event_array map/);
  } finally {
    p.close();
  }
});

test.run();
