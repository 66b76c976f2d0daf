// The default waiter: a worker thread blocked in epoll_wait (src/sys/epoll-worker.ts),
// and its fallback to the libuv-pool waiter when the worker cannot start.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PerfReader } from "../../src/perf/reader.ts";
import { RingBufReader } from "../../src/ringbuf/reader.ts";
import { privileged } from "../helpers/env.ts";
import { Producers } from "./producers.ts";

const root = privileged("ring buffer worker-waiter tests");
const SEA_ADDON_PATH = Symbol.for("tsbpf.koffi-sea.addon-path");

/** Commits `count` records from a timer while the reader waits; returns how many arrived. */
async function pingPong(
  p: Producers,
  r: RingBufReader | PerfReader,
  rounds: number,
  perf = false,
): Promise<number> {
  let got = 0;
  for (let i = 0; i < rounds; i++) {
    const t = setTimeout(() => (perf ? p.runPerf(1, i) : p.run("emit_mixed", 1, i)), 1);
    // Generous: a noisy 2-core machine; the worker boots on the first wait.
    let ready = false;
    for (let tries = 0; tries < 10 && !ready; tries++) ready = await r.wait(1000);
    clearTimeout(t);
    assert.ok(ready, `round ${i}: no wakeup`);
    got += r.consume(() => {});
  }
  return got;
}

test("ring buffer: wait() blocks in the worker and wakes once per committed record", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new RingBufReader(p.rb);
  try {
    assert.is(r.waitStrategy, "worker");
    assert.is(await pingPong(p, r, 100), 100);
    assert.is(r.waitStrategy, "worker", "the worker failed and the reader fell back");
    // Nothing committed: the wait ends by its timeout, false.
    const t0 = performance.now();
    assert.is(await r.wait(50), false);
    assert.ok(performance.now() - t0 >= 45);
  } finally {
    r.close();
    p.close();
  }
});

test("perf buffer: the worker waits on every CPU's ring", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new PerfReader(p.perf);
  try {
    assert.is(await pingPong(p, r, 50, true), 50);
    assert.is(r.waitStrategy, "worker");
  } finally {
    r.close();
    p.close();
  }
});

test("an AbortSignal ends records() at once while the worker waits", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new RingBufReader(p.rb);
  try {
    const ac = new AbortController();
    const it = r.records({ signal: ac.signal });
    const next = it.next();
    await new Promise((res) => setTimeout(res, 100));
    const t0 = performance.now();
    ac.abort();
    assert.ok((await next).done);
    assert.ok(performance.now() - t0 < 100, `abort took ${performance.now() - t0} ms`);
    // The reader still works afterwards.
    assert.is(await pingPong(p, r, 3), 3);
  } finally {
    r.close();
    p.close();
  }
});

test("a worker that cannot load koffi falls back to the pool waiter, and records still arrive", async () => {
  if (!root) return;
  const g = globalThis as Record<symbol, unknown>;
  g[SEA_ADDON_PATH] = "/nonexistent/koffi.node";
  const p = new Producers();
  const r = new RingBufReader(p.rb);
  try {
    assert.is(await pingPong(p, r, 20), 20);
    assert.is(r.waitStrategy, "async");
  } finally {
    delete g[SEA_ADDON_PATH];
    r.close();
    p.close();
  }
});

test("option waiter: 'async' uses the pool waiter", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new RingBufReader(p.rb, { waiter: "async" });
  try {
    assert.is(r.waitStrategy, "async");
    assert.is(await pingPong(p, r, 20), 20);
  } finally {
    r.close();
    p.close();
  }
});

test.run();
