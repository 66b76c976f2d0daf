// Waiting for ring/perf buffer data without blocking Node's event loop.
//
// One epoll set holds the data fds (ring-buffer map fd, or one perf fd per CPU) and an
// eventfd: writing the eventfd wakes a blocked wait at once (close(), AbortSignal).
//
// Measured (bench/ringbuf/wakeup.ts, run by `npm run bench:ringbuf`; bench/RESULTS.md):
// koffi `.async` epoll_wait on libuv's pool against a worker thread in a synchronous
// epoll_wait loop, producer = BPF_PROG_TEST_RUN from a child process, ktime-stamped.
//   ping-pong (every record needs a wakeup): async 5.7k–26k wakeups/s, worker 15k–46k
//     (1.1–2.7× more over 3 runs), p99 latency async 72 µs–3.3 ms, worker 45–72 µs;
//   one record per ms: p50 async 41–59 µs, worker 54–71 µs (async ~13 µs faster),
//     p99 async 4–16 ms (pool contention on the loaded machine), worker 0.16–2 ms.
// So the WORKER measured better on wakeup rate and tail latency (async only on median
// latency at low rates), and holds no libuv pool thread. It is NOT the default yet: the
// worker needs koffi loaded inside a worker thread, which src/sys and the single-binary
// build (scripts/build-sea.mjs: koffi's addon is a SEA asset loaded once by
// src/sys/koffi-sea.ts) do not provide; the bench's worker runs from source only.
// Until then the async call stays, under these rules (throughput is unaffected: every
// wakeup drains the ring until empty):
//  - at most ONE pending call per waiter (it occupies one of libuv's 4 pool threads, so
//    fs/dns/crypto keep 3; test/ringbuf/eventloop.test.ts checks fs.readFile stays prompt);
//  - each call's timeout is bounded (sliceMs), so even a lost wakeup costs one slice;
//  - epoll is level-triggered: the ring-buffer kernel side only sends a wakeup when the
//    consumer has caught up (see reader.ts), and level triggering re-checks the fd's
//    poll() state on each wait, so records committed mid-drain are never missed.
// While a call is pending the process stays alive; release() (close) wakes it through
// the eventfd and frees the fds only after the pool thread has returned.
import { closeRaw as closeFdRaw } from "../sys/libc.ts";
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

/** epoll `data` of the wake eventfd; data fds use their index (0, 1, ...). */
const WAKE = 0xffff_ffff;

export class Waiter {
  private readonly epfd: number;
  private readonly efd: number;
  private readonly events: EpollEvents;
  private pending: Promise<number> | undefined;
  private released = false;
  private freed = false;

  constructor(fds: number[]) {
    this.epfd = epollCreate();
    this.efd = -1;
    try {
      this.efd = eventfd();
      epollCtl(this.epfd, EPOLL_CTL_ADD, this.efd, EPOLLIN, WAKE);
      for (let i = 0; i < fds.length; i++) epollCtl(this.epfd, EPOLL_CTL_ADD, fds[i], EPOLLIN, i);
    } catch (e) {
      if (this.efd >= 0) closeFdRaw(this.efd);
      closeFdRaw(this.epfd);
      throw e;
    }
    this.events = new EpollEvents(Math.max(4, fds.length + 1));
  }

  /** Synchronous wait (blocks this thread): true when a data fd is ready. */
  waitSync(timeoutMs: number): boolean {
    if (this.released) return false;
    return this.ready(epollWait(this.epfd, this.events, timeoutMs));
  }

  /**
   * Asynchronous wait on libuv's pool: resolves true when a data fd is ready, false on
   * timeout or wake(). Concurrent callers share the one pending call.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.released) return false;
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
    if (!this.freed) eventfdWrite(this.efd, 1);
  }

  /** Wake any wait and close the fds (deferred until a pending pool call has returned). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.wake();
    if (!this.pending) this.free();
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    closeFdRaw(this.efd);
    closeFdRaw(this.epfd);
  }
}
