// Wakeup bench: how fast and how promptly a record committed by a BPF program reaches a
// JS callback, for the two ways of waiting without blocking Node's event loop:
//  - "async pool": koffi `.async` epoll_wait on libuv's thread pool (src/ringbuf/waiter.ts,
//    used by RingBufReader.wait());
//  - "worker": a worker thread in a synchronous epoll_wait loop posting a message per
//    readiness (bench/ringbuf/wait-worker.ts).
// The producer is bench/ringbuf/trigger.c in a child process running the `emit_stamp`
// program (one record stamped with bpf_ktime_get_ns = CLOCK_MONOTONIC) through
// BPF_PROG_TEST_RUN; the consumer computes latency = process.hrtime (CLOCK_MONOTONIC)
// in its batch callback − the record's stamp.
//  - periodic: one record every INTERVAL_US: the wake latency (p50/p99) of an idle reader;
//  - pingpong: the next record as soon as the consumer has caught up (the trigger polls
//    consumer_pos): every record needs a fresh wakeup, so records/s = wakeups/s.
import { spawn } from "node:child_process";
import { Worker } from "node:worker_threads";
import { RingBufReader } from "../../src/ringbuf/reader.ts";
import { closeFd } from "../../src/sys/bpf.ts";
import { EPOLL_CTL_ADD, EPOLLIN, epollCreate, epollCtl } from "../../src/sys/poll.ts";
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
  const r = new RingBufReader(p.rb);
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
  // The producer starts only once the consumer is ready (the worker has booted).
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
    if (strategy === "async pool") {
      start();
      while (!done) {
        if (r.consumeBatch(onBatch) > 0) continue;
        if (await r.wait(100)) wakeups++;
      }
    } else {
      const epfd = epollCreate();
      epollCtl(epfd, EPOLL_CTL_ADD, p.rb.fd, EPOLLIN, 0);
      const flag = new Int32Array(new SharedArrayBuffer(8));
      // The worker is TypeScript too: register tsx's loader in it, then import it.
      const url = new URL("./wait-worker.ts", import.meta.url).href;
      const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
      const w = new Worker(boot, { eval: true, workerData: { epfd, flag, sliceMs: 100 } });
      await new Promise<void>((resolve, reject) => {
        w.on("error", reject);
        w.on("message", (n: number) => {
          if (n === 0) {
            start();
            exited.finally(() => setTimeout(resolve, 200));
            return;
          }
          wakeups++;
          while (r.consumeBatch(onBatch) > 0);
          Atomics.store(flag, 0, 1);
          Atomics.notify(flag, 0);
          if (done) resolve();
        });
      });
      Atomics.store(flag, 1, 1);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await w.terminate();
      closeFd(epfd);
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
