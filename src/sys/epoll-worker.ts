// A worker thread that blocks in epoll_wait(2) for the main thread, so waiting for ring
// or perf buffer data costs neither the event loop nor one of libuv's 4 pool threads.
// Against koffi `.async` epoll_wait on the pool: more wakeups/s and a much shorter p99
// (bench/ringbuf/wakeup.ts; bench/README.md).
//
// Protocol, over a SharedArrayBuffer of Int32 slots:
//   ARM  = 1: the main thread has drained and wants the next readiness. The worker parks
//        in Atomics.wait while ARM = 0, and clears it before it signals, so exactly one
//        signal is sent per arm (the main thread re-arms after its drain).
//   SIGNAL: readiness counter. The worker increments it and Atomics.notify()s; the main
//        thread awaits it with Atomics.waitAsync, which beats a postMessage per readiness
//        (MessagePort machinery and a structured clone per message) on rate and p99.
//   STOP = 1: exit. close() sets it, then writes the eventfd in the epoll set so a
//        blocked epoll_wait returns at once.
// epoll is level-triggered, so data committed during the main thread's drain makes the
// next epoll_wait return immediately: no record waits for a later event.
//
// The worker cannot import our modules: the single binary is one CommonJS bundle whose
// require() only loads built-ins. It runs eval'd source that process.dlopen()s koffi's
// native addon itself and uses the addon's exports directly (koffi's JS entry is a thin
// re-export of them). The addon path is the @koromix/koffi-<os>-<arch> package when
// running from source, and the anonymous file src/binary/koffi-sea.ts keeps open
// (/proc/self/fd/N) in the binary.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Worker } from "node:worker_threads";
import { getKoffi } from "./koffi.ts";
import { EPOLL_EVENT_SIZE } from "./poll.ts";

/** Slot src/binary/koffi-sea.ts fills with the embedded addon's /proc/self/fd path. */
const SEA_ADDON_PATH = Symbol.for("tsbpf.koffi-sea.addon-path");

const ARM = 0;
const STOP = 1;
/** Readiness counter: the worker increments it and notifies (Atomics.waitAsync on main). */
const SIGNAL = 2;

/** Atomics.waitAsync (Node 16+, V8): typed here because TypeScript's lib for our target lacks it. */
type WaitAsync = (
  a: Int32Array,
  i: number,
  v: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/**
 * Read at the call, not at module load: Node builds a start-up snapshot (the single
 * binary's, scripts/build-sea.mjs) with no Atomics or SharedArrayBuffer global; both
 * exist again once the snapshot is deserialized.
 */
const waitAsync: WaitAsync = (a, i, v) => (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(a, i, v);

/**
 * Bound of one blocking call in the worker (ms). Node joins worker threads when the
 * process exits, so a reader the program never closed delays exit by at most this much.
 */
const SLICE_MS = 200;

// Plain CommonJS, run by `new Worker(src, { eval: true })`. The events buffer holds
// maxEvents records of this architecture's struct epoll_event (sys/arch.ts).
const WORKER_SOURCE = `"use strict";
const { workerData, parentPort } = require("node:worker_threads");
const { addonPath, epfd, maxEvents, state, sliceMs } = workerData;
const m = { exports: {} };
process.dlopen(m, addonPath);
const lib = m.exports.load("libc.so.6");
const epollWait = lib.func("int epoll_wait(int, void *, int, int)");
const events = Buffer.alloc(maxEvents * ${EPOLL_EVENT_SIZE});
parentPort.postMessage(0);
while (Atomics.load(state, ${STOP}) === 0) {
  if (Atomics.load(state, ${ARM}) === 0) {
    Atomics.wait(state, ${ARM}, 0, sliceMs);
    continue;
  }
  const n = epollWait(epfd, events, maxEvents, sliceMs);
  if (n <= 0 || Atomics.load(state, ${STOP}) !== 0) continue;
  Atomics.store(state, ${ARM}, 0);
  Atomics.add(state, ${SIGNAL}, 1);
  Atomics.notify(state, ${SIGNAL});
}
`;

type WorkerClass = typeof import("node:worker_threads").Worker;

/**
 * node:worker_threads, loaded when the first worker starts: loading it costs start-up
 * time, and a tracer's first wait comes after its first events are out. `require` is the
 * CommonJS bundle's (the single binary); from source, one made for this module.
 */
function loadWorkerClass(): WorkerClass {
  // require() keeps the module once loaded: a second worker pays a lookup only.
  const req = typeof require === "function" ? require : createRequire(import.meta.url);
  return (req("node:worker_threads") as typeof import("node:worker_threads")).Worker;
}

/** Where the worker loads koffi's addon from. */
export function koffiAddonPath(): string {
  // In the binary the slot is filled when koffi is first loaded (lazily, src/binary/koffi-sea.ts).
  getKoffi();
  const sea = (globalThis as Record<symbol, unknown>)[SEA_ADDON_PATH];
  if (typeof sea === "string") return sea;
  // From source: the same platform package koffi's own loader picks (glibc build).
  const req = createRequire(import.meta.url);
  const pkg = `@koromix/koffi-${process.platform}-${process.arch}`;
  return join(
    dirname(req.resolve(`${pkg}/package.json`)),
    `${process.platform}_${process.arch}`,
    "koffi.node",
  );
}

export interface EpollWorkerHandlers {
  /** The worker has loaded koffi and entered its loop. */
  onStart?(addonPath: string): void;
  /** A data fd (or the wake eventfd) of the set is ready; the worker is disarmed. */
  onReady(): void;
  /** The worker could not start or died; `why` is a one-line reason. Not called after stop(). */
  onFail(why: string): void;
  /** The worker thread has exited after stop(): the epoll set may now be closed. */
  onExit(): void;
}

/**
 * A started epoll worker on `epfd`. The caller owns epfd and the wake eventfd in it;
 * stop() must be followed by an eventfd write to end a blocked epoll_wait at once.
 */
export class EpollWorker {
  private readonly worker: Worker;
  private readonly state = new Int32Array(new SharedArrayBuffer(12));
  private stopped = false;
  /** An Atomics.waitAsync on SIGNAL is outstanding. */
  private listening = false;
  private seen = 0;
  private readonly h: EpollWorkerHandlers;

  /** Throws when the thread cannot be created (the caller falls back). */
  constructor(epfd: number, maxEvents: number, h: EpollWorkerHandlers) {
    this.h = h;
    const addonPath = koffiAddonPath();
    const Worker = loadWorkerClass();
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { addonPath, epfd, maxEvents, state: this.state, sliceMs: SLICE_MS },
      // The worker needs no stdin and shares our stdout/stderr; keep its heap small.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    // Never keep the process alive by itself: a pending wait() holds a timer instead.
    this.worker.unref();
    // The only message: the worker has loaded koffi and entered its loop.
    this.worker.on("message", () => {
      if (!this.stopped) h.onStart?.(addonPath);
    });
    this.worker.on("error", (e: Error) => {
      if (!this.stopped) h.onFail(e.message);
    });
    this.worker.on("exit", (code) => {
      if (this.stopped) h.onExit();
      else h.onFail(`epoll worker exited with code ${code}`);
    });
  }

  /** Ask for the next readiness (call after a drain found nothing more). */
  arm(): void {
    if (!this.listening) this.listen();
    if (Atomics.load(this.state, ARM) === 1) return;
    Atomics.store(this.state, ARM, 1);
    Atomics.notify(this.state, ARM);
  }

  private listen(): void {
    this.listening = true;
    const r = waitAsync(this.state, SIGNAL, this.seen);
    const done = () => {
      this.listening = false;
      this.seen = Atomics.load(this.state, SIGNAL);
      if (!this.stopped) this.h.onReady();
    };
    if (r.async) r.value.then(done);
    else done();
  }

  /** Make the worker exit; the caller then writes the eventfd to end a blocked epoll_wait. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.state, STOP, 1);
    Atomics.notify(this.state, ARM);
  }
}
