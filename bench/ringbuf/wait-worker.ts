// Worker side of the "worker thread" waiting strategy measured by bench/ringbuf/wakeup.ts:
// a synchronous epoll_wait loop on the epoll set the main thread created (fds are
// process-wide). On readiness it posts "ready" and parks on an Atomics.wait until the
// main thread has drained the ring (flag = 1), then waits again; epoll is
// level-triggered, so records committed during the drain are reported at once.
import { parentPort, workerData } from "node:worker_threads";
import { EpollEvents, epollWait } from "../../src/sys/poll.ts";

const { epfd, flag, sliceMs } = workerData as { epfd: number; flag: Int32Array; sliceMs: number };
const events = new EpollEvents(4);
parentPort?.postMessage(0); // up: the bench starts the producer only now
for (;;) {
  if (Atomics.load(flag, 1) === 1) break; // stop requested
  const n = epollWait(epfd, events, sliceMs);
  if (n === 0) continue;
  Atomics.store(flag, 0, 0);
  parentPort?.postMessage(n);
  Atomics.wait(flag, 0, 0);
}
