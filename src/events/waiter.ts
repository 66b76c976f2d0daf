// Waiting for ring/perf buffer data without blocking Node's event loop.
//
// One epoll set holds the data fds (ring-buffer map fd, or one perf fd per CPU) and an
// eventfd: writing the eventfd wakes a blocked wait at once (close(), AbortSignal).
//
// Two ways to block: a worker thread in a blocking epoll_wait loop, or koffi `.async`
// epoll_wait on libuv's pool. The WORKER does better on wakeup rate and tail latency
// (bench/ringbuf/wakeup.ts, `npm run bench:ringbuf`; figures in bench/README.md), and
// holds no libuv pool thread: it is the default
// (src/sys/epoll-worker.ts, started lazily by the first wait()). The async call is the
// fallback when no worker can be started (reported under TSBPF_DEBUG=1), or on request
// (option `waiter: "async"`, or TSBPF_WAITER=async), under these rules (throughput is
// unaffected: every wakeup drains the ring until empty):
//  - at most ONE pending call per waiter (it occupies one of libuv's 4 pool threads, so
//    fs/dns/crypto keep 3; test/ringbuf/eventloop.test.ts checks fs.readFile stays prompt);
//  - each call's timeout is bounded (sliceMs), so even a lost wakeup costs one slice;
//  - epoll is level-triggered: the ring-buffer kernel side only sends a wakeup when the
//    consumer has caught up (see src/ringbuf/reader.ts), and level triggering re-checks the fd's
//    poll() state on each wait, so records committed mid-drain are never missed.
// While a pool call is pending the process stays alive; release() (close) wakes it through
// the eventfd and frees the fds only after the pool thread has returned. The worker is
// unref'd (a pending wait() keeps the process alive through its timer instead); release()
// stops it through the same eventfd and frees the fds once the thread has exited.
import { EpollWorker } from "../sys/epoll-worker.ts";
import {
  EPOLL_CTL_ADD,
  EPOLLIN,
  EpollEvents,
  epollCreate,
  epollCtl,
  epollWait,
  epollWaitAsync,
  eventfd,
  eventfdRead,
  eventfdWrite,
} from "../sys/poll.ts";
import { sys } from "../sys/syscalls.ts";

/** epoll `data` of the wake eventfd; data fds use their index (0, 1, ...). */
const WAKE = 0xffff_ffff;

/** How wait() blocks: a worker thread in epoll_wait (default) or koffi `.async` on libuv's pool. */
export type WaiterMode = "worker" | "async";

function defaultMode(): WaiterMode {
  return process.env.TSBPF_WAITER === "async" ? "async" : "worker";
}

function debug(msg: string): void {
  if (process.env.TSBPF_DEBUG === "1") process.stderr.write(`tsbpf: debug: ${msg}\n`);
}

export class Waiter {
  private readonly epfd: number;
  private readonly efd: number;
  private readonly events: EpollEvents;
  private pending: Promise<number> | undefined;
  private released = false;
  private freed = false;
  private mode: WaiterMode;
  private worker: EpollWorker | undefined;
  /** The worker thread is running (or starting): fds are freed on its exit. */
  private workerAlive = false;
  /** Resolves the current worker-mode wait(); at most one is outstanding. */
  private resolveWait: ((ready: boolean) => void) | undefined;
  private waitPromise: Promise<boolean> | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  /** The worker reported readiness while no wait() was outstanding. */
  private readyLatched = false;

  constructor(fds: number[], mode: WaiterMode = defaultMode()) {
    this.mode = mode;
    this.epfd = epollCreate();
    this.efd = -1;
    try {
      this.efd = eventfd();
      epollCtl(this.epfd, EPOLL_CTL_ADD, this.efd, EPOLLIN, WAKE);
      for (let i = 0; i < fds.length; i++) epollCtl(this.epfd, EPOLL_CTL_ADD, fds[i], EPOLLIN, i);
    } catch (e) {
      if (this.efd >= 0) sys.close(this.efd);
      sys.close(this.epfd);
      throw e;
    }
    this.events = new EpollEvents(Math.max(4, fds.length + 1));
  }

  /** "worker" or "async": the strategy in use (a failed worker switches to "async"). */
  get strategy(): WaiterMode {
    return this.mode;
  }

  /** Synchronous wait (blocks this thread): true when a data fd is ready. */
  waitSync(timeoutMs: number): boolean {
    if (this.released) return false;
    return this.ready(epollWait(this.epfd, this.events, timeoutMs));
  }

  /**
   * Resolves true when a data fd may be ready, false on timeout, wake() or release().
   * Concurrent callers share the one outstanding wait.
   */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.released) return Promise.resolve(false);
    if (this.mode === "worker" && (this.worker || this.startWorker())) return this.waitWorker(timeoutMs);
    return this.waitAsync(timeoutMs);
  }

  private startWorker(): boolean {
    try {
      this.worker = new EpollWorker(this.epfd, this.events.max, {
        onStart: (path) => debug(`epoll worker thread started (koffi addon ${path})`),
        onReady: () => this.workerReady(),
        onFail: (why) => this.workerFailed(why),
        onExit: () => {
          this.workerAlive = false;
          if (this.released) this.free();
        },
      });
      this.workerAlive = true;
      return true;
    } catch (e) {
      this.workerFailed((e as Error).message);
      return false;
    }
  }

  private workerReady(): void {
    if (this.resolveWait) this.settleWorkerWait(true);
    else this.readyLatched = true;
  }

  private workerFailed(why: string): void {
    if (this.mode !== "worker") return;
    debug(`epoll worker thread unavailable (${why}); waiting on libuv's thread pool instead`);
    this.mode = "async";
    this.worker = undefined;
    this.workerAlive = false;
    // The caller re-checks the ring and waits again, now on the pool.
    this.settleWorkerWait(false);
    if (this.released) this.free();
  }

  private waitWorker(timeoutMs: number): Promise<boolean> {
    if (this.readyLatched) {
      this.readyLatched = false;
      return Promise.resolve(true);
    }
    if (this.waitPromise) return this.waitPromise;
    const promise = new Promise<boolean>((resolve) => {
      this.resolveWait = resolve;
    });
    this.waitPromise = promise;
    // The timer also keeps the process alive while someone waits (the worker is unref'd).
    if (timeoutMs >= 0) this.waitTimer = setTimeout(() => this.settleWorkerWait(false), timeoutMs);
    // arm() may settle the wait synchronously (Atomics.waitAsync finds the worker's
    // readiness flag already set), which clears this.waitPromise: return the local.
    this.worker?.arm();
    return promise;
  }

  private settleWorkerWait(ready: boolean): void {
    const resolve = this.resolveWait;
    if (!resolve) return;
    this.resolveWait = undefined;
    this.waitPromise = undefined;
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    resolve(ready);
  }

  private async waitAsync(timeoutMs: number): Promise<boolean> {
    if (!this.pending) {
      const p = epollWaitAsync(this.epfd, this.events, timeoutMs);
      this.pending = p;
      p.finally(() => {
        this.pending = undefined;
        if (this.released) this.free();
      }).catch(() => {});
    }
    const n = await this.pending;
    if (this.released) return false;
    return this.ready(n);
  }

  private ready(n: number): boolean {
    let data = false;
    for (let i = 0; i < n; i++) {
      if (this.events.data(i) === WAKE) eventfdRead(this.efd);
      else data = true;
    }
    return data;
  }

  /** Wake a blocked wait now (it returns false). */
  wake(): void {
    if (this.freed) return;
    // The worker stays armed for the next wait(): only the waiting promise ends. The
    // eventfd would stay readable for the worker (nobody reads it there) and spin it.
    if (this.mode === "worker") this.settleWorkerWait(false);
    else eventfdWrite(this.efd, 1);
  }

  /** Wake any wait and close the fds (deferred until a pending pool call or the worker has returned). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.settleWorkerWait(false);
    this.worker?.stop();
    if (!this.freed) eventfdWrite(this.efd, 1);
    if (!this.pending && !this.workerAlive) this.free();
  }

  private free(): void {
    if (this.freed || this.pending || this.workerAlive) return;
    this.freed = true;
    sys.close(this.efd);
    sys.close(this.epfd);
  }
}
