// The reader waits without blocking Node's event loop (one bounded pool call at a time),
// close() ends a blocked wait at once, and the process then exits by itself.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { RingBufReader } from "../../src/ringbuf/reader.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";
import { Producers } from "./producers.ts";

const root = privileged("ring buffer event-loop tests");

test("close() during a blocked wait returns within 100 ms and the process exits by itself", async () => {
  if (!root) return;
  const child = spawn(process.execPath, ["--import", "tsx", `${ROOT_DIR}test/ringbuf/child-close.ts`], {
    cwd: ROOT_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  // Generous bound: tsx start-up on a noisy 2-core machine; a hang would be the full 30 s.
  const code = await new Promise<number | string>((resolve) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      resolve("timeout");
    }, 30_000);
    child.on("exit", (c) => {
      clearTimeout(t);
      resolve(c ?? "signal");
    });
  });
  assert.is(code, 0, `child did not exit by itself: ${code} ${err}`);
  const res = JSON.parse(out.trim()) as { records: number; closeMs: number };
  assert.is(res.records, 0);
  assert.ok(res.closeMs < 100, `close took ${res.closeMs} ms to end the wait`);
});

test("a 10 ms timer keeps firing on schedule while the reader waits", async () => {
  if (!root) return;
  const p = new Producers();
  const r = new RingBufReader(p.rb);
  try {
    const iter = r.records();
    const pending = iter.next();
    const ticks: number[] = [];
    await new Promise<void>((resolve) => {
      const t0 = performance.now();
      const iv = setInterval(() => {
        ticks.push(performance.now());
        if (performance.now() - t0 >= 500) {
          clearInterval(iv);
          resolve();
        }
      }, 10);
    });
    let gap = 0;
    for (let i = 1; i < ticks.length; i++) gap = Math.max(gap, ticks[i] - ticks[i - 1]);
    assert.ok(ticks.length >= 35, `only ${ticks.length} ticks in 500 ms`);
    assert.ok(gap < 80, `largest gap between ticks ${gap.toFixed(1)} ms`);
    r.close();
    const last = await pending;
    assert.ok(last.done);
  } finally {
    r.close();
    p.close();
  }
});

test("fs.readFile completes promptly while readers wait", async () => {
  if (!root) return;
  const p = new Producers();
  // Two readers: each holds at most one libuv pool thread, leaving two of four for fs.
  const a = new RingBufReader(p.rb);
  const b = new RingBufReader(p.rb);
  try {
    const ia = a.records();
    const ib = b.records();
    const pa = ia.next();
    const pb = ib.next();
    await new Promise((r) => setTimeout(r, 50));
    const worst: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const txt = await readFile(`${ROOT_DIR}package.json`, "utf8");
      worst.push(performance.now() - t0);
      assert.ok(txt.includes("tsbpf"));
    }
    const max = Math.max(...worst);
    assert.ok(max < 200, `readFile took up to ${max.toFixed(1)} ms while the readers waited`);
    a.close();
    b.close();
    assert.ok((await pa).done);
    assert.ok((await pb).done);
  } finally {
    a.close();
    b.close();
    p.close();
  }
});

test.run();
