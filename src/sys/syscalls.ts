// The one seam between tsbpf and the kernel. Every system call, and the few libc
// helpers around them (errno, a buffer's address, a view of native memory), goes
// through the Syscalls in use: `sys`. The default, libcSyscalls (libc.ts), calls libc
// through koffi. overrideSyscalls() puts another implementation in its place for a
// scope, as aya's override_syscall does: unit tests inject fakes through it, and so
// does the single binary's snapshot build (src/binary/fake-kernel.ts). No module of
// src/sys, src/loader or above holds a fake kernel of its own.
//
// Methods are named after the system call or libc function they stand for
// (bpf(2), perf_event_open(2), mmap(2), ...); a negative result means failure, with
// the reason in errno(), as in C.
import { libcSyscalls } from "./libc.ts";

/**
 * The system calls and libc helpers tsbpf uses, one method per call, named as in C.
 * A negative result means failure, with the reason in errno().
 */
export interface Syscalls {
  /** bpf(cmd, attr, size) (syscall(SYS_bpf, ...): libc has no wrapper). */
  bpf(cmd: number, attr: Uint8Array, size: number): number;
  /** perf_event_open(attr, pid, cpu, group_fd, flags). */
  perf_event_open(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** The address as a number, or a bigint above 2^53 (MAP_FAILED is 2^64-1). */
  mmap(addr: number, len: number, prot: number, flags: number, fd: number, off: number): number | bigint;
  /** munmap(2). */
  munmap(addr: number | bigint, len: number): number;
  /** madvise(2), e.g. MADV_DONTNEED. */
  madvise(addr: number | bigint, len: number, advice: number): number;
  /** ioctl with one integer-or-pointer argument. */
  ioctl(fd: number, req: number, arg: number | bigint): number;
  /** close(2). */
  close(fd: number): number;
  /** read(2) into `buf`. */
  read(fd: number, buf: Uint8Array, len: number): number;
  /** write(2) from `buf`. */
  write(fd: number, buf: Uint8Array, len: number): number;
  /** epoll_create1(2). */
  epoll_create1(flags: number): number;
  /** epoll_ctl(2); `ev` is a struct epoll_event in the architecture's layout. */
  epoll_ctl(epfd: number, op: number, fd: number, ev: Uint8Array | null): number;
  /** epoll_wait(2), blocking the calling thread up to `timeout` ms. */
  epoll_wait(epfd: number, events: Uint8Array, max: number, timeout: number): number;
  /**
   * epoll_wait on libuv's thread pool, the events buffer given by address (a stable
   * off-heap buffer: the JS buffer must not be marshalled to another thread).
   */
  epoll_wait_async(
    epfd: number,
    events: bigint,
    max: number,
    timeout: number,
    cb: (err: unknown, res: number) => void,
  ): void;
  /** eventfd(2). */
  eventfd(initval: number, flags: number): number;
  /** mount(2). */
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): number;
  /** clock_gettime(clk, struct timespec *). */
  clock_gettime(clk: number, ts: Uint8Array): number;
  /** socket(2). */
  socket(domain: number, type: number, protocol: number): number;
  /** bind(2) to the sockaddr in `addr`. */
  bind(fd: number, addr: Uint8Array, len: number): number;
  /** connect(2) to the sockaddr in `addr`. */
  connect(fd: number, addr: Uint8Array, len: number): number;
  /** sendto(2); `addr` null for a connected socket. */
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array | null,
    addrLen: number,
  ): number;
  /** recvfrom(2); `addrLen` is an in/out socklen_t. */
  recvfrom(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array | null,
    addrLen: Uint8Array | null,
  ): number;
  /** setsockopt(2). */
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  /** getsockopt(2); `len` is an in/out socklen_t. */
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
  /** if_nametoindex(3): 0 when there is no such interface. */
  if_nametoindex(name: string): number;
  /** open(2) without a mode argument: not for O_CREAT. */
  open(path: string, flags: number): number;
  /** setns(2). */
  setns(fd: number, nstype: number): number;
  /** capget(2)/capset(2): a cap_user_header_t and cap_user_data_t[2] (version 3). */
  capget(hdr: Uint8Array, data: Uint8Array): number;
  /** capset(2), same layout as capget. */
  capset(hdr: Uint8Array, data: Uint8Array): number;
  /** prctl(2) with its four unsigned long arguments. */
  prctl(option: number, a2: number, a3: number, a4: number, a5: number): number;
  /** errno of the last failed call on this thread. */
  errno(): number;
  /** Address of a buffer's first byte (honours byteOffset). Only for off-heap memory. */
  address_of(buf: Uint8Array): bigint;
  /** A zero-copy ArrayBuffer over native memory (e.g. an mmap'd region). */
  view_of(addr: number | bigint, len: number): ArrayBuffer;
}

/** The Syscalls in use (an ES live binding: overrideSyscalls() replaces it). */
export let sys: Syscalls = libcSyscalls;

/** A call to an entry point an injected Syscalls does not provide. */
export class SyscallNotProvidedError extends Error {}

/**
 * Puts `impl` in place of the Syscalls in use and returns the function that puts the
 * previous one back. Entry points `impl` leaves out throw SyscallNotProvidedError, so a
 * fake never falls through to the real kernel.
 */
export function overrideSyscalls(impl: Partial<Syscalls>): () => void {
  const saved = sys;
  const full: Record<string, unknown> = {};
  for (const name of Object.keys(libcSyscalls)) {
    full[name] =
      impl[name as keyof Syscalls] ??
      (() => {
        throw new SyscallNotProvidedError(`${name}() is not provided by the injected Syscalls`);
      });
  }
  sys = full as unknown as Syscalls;
  return () => {
    sys = saved;
  };
}

/**
 * The recorder bpf() reports to (bpf-core.ts withBpfRecorder sets it for the length of
 * one synchronous call); typed loosely here to keep this module at the bottom.
 */
// biome-ignore lint/suspicious/noExplicitAny: the record type lives in bpf-core.ts
export let bpfRecorder: ((e: any) => void) | undefined;
// biome-ignore lint/suspicious/noExplicitAny: see bpfRecorder
export function setBpfRecorder(rec: ((e: any) => void) | undefined): void {
  bpfRecorder = rec;
}
