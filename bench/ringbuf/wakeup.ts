// Wakeup bench: how fast and how promptly a record committed by a BPF program reaches a
// JS callback, for the two ways RingBufReader.wait() can wait without blocking Node's
// event loop (src/events/waiter.ts), both through the production path:
//  - "worker" (the default): a worker thread in a blocking epoll_wait loop
//    (src/sys/epoll-worker.ts) posting a message per readiness;
//  - "async pool": koffi `.async` epoll_wait on libuv's thread pool (option waiter: "async").
// The consumer loop is the same for both: drain with consumeBatch() until empty, then
// await r.wait().
// The producer is bench/ringbuf/trigger.c in a child process running the `emit_stamp`
// program (one record stamped with bpf_ktime_get_ns = CLOCK_MONOTONIC) through
// BPF_PROG_TEST_RUN; the consumer computes latency = process.hrtime (CLOCK_MONOTONIC)
// in its batch callback − the record's stamp.
//  - periodic: one record every INTERVAL_US: the wake latency (p50/p99) of an idle reader;
//  - pingpong: the next record as soon as the consumer has caught up (the trigger polls
//    consumer_pos): every record needs a fresh wakeup, so records/s = wakeups/s.
import { spawn } from "node:child_process";
import { RingBufReader } from "../../src/ringbuf/reader.ts";
import { Producers } from "../../test/ringbuf/producers.ts";
import { median } from "../lib.ts";

export type Strategy = "async pool" | "worker";
export type TriggerMode = "periodic" | "pingpong";

export interface WakeupResult {
  strategy: Strategy;
  mode: TriggerMode;
  records: number;
  wakeups: number;
  seconds: number;
  p50us: number;
  p99us: number;
}

function percentile(xs: Float64Array, n: number, q: number): number {
  const s = Array.from(xs.subarray(0, n)).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : Number.NaN;
}

/** Runs the trigger child for durationMs while `consume` drives the reader; resolves with the figures. */
export async function measureWakeup(
  trigger: string,
  strategy: Strategy,
  mode: TriggerMode,
  durationMs: number,
  intervalUs: number,
): Promise<WakeupResult> {
  const p = new Producers({ rbSize: 1 << 20 });
  const r = new RingBufReader(p.rb, { waiter: strategy === "worker" ? "worker" : "async" });
  const lat = new Float64Array(1 << 21);
  let records = 0;
  let wakeups = 0;
  const onBatch = (v: DataView, offs: Int32Array, _l: Int32Array, count: number) => {
    const now = Number(process.hrtime.bigint());
    for (let i = 0; i < count; i++) {
      const o = offs[i];
      const ts = v.getUint32(o + 8, true) + v.getUint32(o + 12, true) * 4294967296;
      if (records < lat.length) lat[records] = (now - ts) / 1000;
      records++;
    }
  };
  let done = false;
  let out = "";
  let exited: Promise<void> = Promise.resolve();
  let t0 = 0n;
  let t1 = 0n;
  const start = () => {
    t0 = process.hrtime.bigint();
    const child = spawn(trigger, [mode, String(durationMs), String(intervalUs)], {
      stdio: ["ignore", "pipe", "inherit", p.progFd("emit_stamp"), p.rb.fd],
    });
    child.stdout?.on("data", (d) => {
      out += d;
    });
    exited = new Promise<void>((resolve, reject) => {
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`trigger exited ${code}`))));
      child.on("error", reject);
    });
    const end = () => {
      done = true;
      t1 = process.hrtime.bigint();
    };
    exited.then(end, end);
  };
  try {
    // Boot the waiter (the worker thread starts on the first wait) before the producer.
    await r.wait(300);
    if (r.waitStrategy !== (strategy === "worker" ? "worker" : "async")) {
      throw new Error(`wanted the ${strategy} waiter, the reader uses ${r.waitStrategy}`);
    }
    start();
    while (!done) {
      if (r.consumeBatch(onBatch) > 0) continue;
      if (await r.wait(100)) wakeups++;
    }
    await exited;
    while (r.consumeBatch(onBatch) > 0);
  } finally {
    r.close();
    p.close();
  }
  const seconds = Number(t1 - t0) / 1e9;
  const m = /runs=(\d+) failed=(\d+)/.exec(out);
  if (m?.[2] !== "0" || !m) throw new Error(`trigger: unexpected output ${out}`);
  if (Number(m[1]) !== records) throw new Error(`trigger produced ${m[1]} records, consumer saw ${records}`);
  const n = Math.min(records, lat.length);
  return {
    strategy,
    mode,
    records,
    wakeups,
    seconds,
    p50us: percentile(lat, n, 0.5),
    p99us: percentile(lat, n, 0.99),
  };
}

export { median };
