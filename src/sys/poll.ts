// epoll(7) and eventfd(2) for waiting on ring buffers and perf buffers.
// struct epoll_event's layout depends on the architecture (sys/arch.ts).
import { epollEventLayout } from "./arch.ts";
import { SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

export const EPOLL_CLOEXEC = 0o2000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
/** 1 << 31 is negative in JS; the kernel reads the u32. */
export const EPOLLET = 0x80000000;
const EPOLL_EVENT = epollEventLayout();
export const EPOLL_EVENT_SIZE = EPOLL_EVENT.size;

export const EFD_SEMAPHORE = 1;
export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

const EINTR = 4;
const EAGAIN = 11;

export function epollCreate(): number {
  const fd = sys.epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw new SyscallError("epoll_create1", sys.errno());
  return fd;
}

const ctlEvent = new Uint8Array(new ArrayBuffer(EPOLL_EVENT_SIZE));
const ctlView = new DataView(ctlEvent.buffer);

/** epoll_ctl(epfd, op, fd, {events, data}); `data` is returned by wait (e.g. an index). */
export function epollCtl(epfd: number, op: number, fd: number, events = EPOLLIN, data = 0): void {
  ctlView.setUint32(0, events >>> 0, true);
  ctlView.setBigUint64(EPOLL_EVENT.data, BigInt(data), true);
  if (sys.epoll_ctl(epfd, op, fd, ctlEvent) < 0) {
    throw new SyscallError("epoll_ctl", sys.errno(), { what: `fd ${fd}`, fields: { op, events } });
  }
}

/** A reusable buffer of epoll_event records for epollWait/epollWaitAsync. */
export class EpollEvents {
  readonly buf: Uint8Array;
  readonly max: number;
  readonly addr: bigint;
  private readonly dv: DataView;
  constructor(max = 64) {
    this.max = max;
    this.buf = new Uint8Array(new ArrayBuffer(max * EPOLL_EVENT_SIZE));
    this.dv = new DataView(this.buf.buffer);
    this.addr = sys.address_of(this.buf);
  }
  events(i: number): number {
    return this.dv.getUint32(i * EPOLL_EVENT_SIZE, true);
  }
  /** The `data` given to epollCtl (low 53 bits). */
  data(i: number): number {
    return Number(this.dv.getBigUint64(i * EPOLL_EVENT_SIZE + EPOLL_EVENT.data, true));
  }
}

/** Synchronous epoll_wait: number of ready events (0 on timeout or EINTR). Blocks the thread. */
export function epollWait(epfd: number, ev: EpollEvents, timeoutMs: number): number {
  const n = sys.epoll_wait(epfd, ev.buf, ev.max, timeoutMs);
  if (n < 0) {
    const e = sys.errno();
    if (e === EINTR) return 0;
    throw new SyscallError("epoll_wait", e);
  }
  return n;
}

/**
 * epoll_wait on libuv's thread pool. A pending call keeps the process alive until it
 * returns, so use a finite timeout or wake it through an eventfd.
 */
export function epollWaitAsync(epfd: number, ev: EpollEvents, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    sys.epoll_wait_async(epfd, ev.addr, ev.max, timeoutMs, (err, n) => {
      if (err) reject(err);
      // errno of a pool thread is not observable here; a negative result is reported plainly.
      else if (n < 0) resolve(0);
      else resolve(n);
    });
  });
}

export function eventfd(initval = 0, flags = EFD_CLOEXEC | EFD_NONBLOCK): number {
  const fd = sys.eventfd(initval, flags);
  if (fd < 0) throw new SyscallError("eventfd", sys.errno());
  return fd;
}

const efdBuf = new Uint8Array(new ArrayBuffer(8));
const efdView = new DataView(efdBuf.buffer);

/** Add `value` to the eventfd counter (wakes its pollers). */
export function eventfdWrite(fd: number, value: bigint | number = 1): void {
  efdView.setBigUint64(0, BigInt(value), true);
  if (sys.write(fd, efdBuf, 8) < 0) throw new SyscallError("write(eventfd)", sys.errno());
}

/** Read and reset the counter; 0n when it was zero (non-blocking fd). */
export function eventfdRead(fd: number): bigint {
  const n = sys.read(fd, efdBuf, 8);
  if (n < 0) {
    const e = sys.errno();
    if (e === EAGAIN) return 0n;
    throw new SyscallError("read(eventfd)", e);
  }
  return efdView.getBigUint64(0, true);
}
