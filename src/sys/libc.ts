// koffi bindings to the few libc entry points tsbpf needs. This file and the rest of
// src/sys are the only code that reaches native memory; everything above works on
// Uint8Array/DataView.
//
// Measured here (koffi 3.3, Node 20): a fixed-arity `syscall` declaration costs about
// 1.2 µs per bpf(BPF_MAP_LOOKUP_ELEM) against 1.5 µs for the variadic form, so each
// syscall shape gets its own fixed prototype. A Uint8Array passed to a `void *`
// parameter is passed by reference (kernel writes are visible afterwards, byteOffset
// is honoured), so no copy-in/copy-out happens on the hot path.
import koffi from "./koffi.ts";

const lib = koffi.load("libc.so.6");

/** x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYS_bpf = 321;
export const SYS_perf_event_open = 298;

/** syscall(SYS_bpf, cmd, attr, size) */
export const sysBpf: (nr: number, cmd: number, attr: Uint8Array, size: number) => number = lib.func(
  "long syscall(long, long, void *, long)",
);

/** syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags) */
export const sysPerfEventOpen: (
  nr: number,
  attr: Uint8Array,
  pid: number,
  cpu: number,
  groupFd: number,
  flags: number,
) => number = lib.func("long syscall(long, void *, int, int, int, unsigned long)");

/** mmap returns the address as a number, or a bigint when above 2^53 (MAP_FAILED is 2^64-1). */
export const mmapRaw: (
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
) => number | bigint = lib.func("uintptr_t mmap(uintptr_t, size_t, int, int, int, int64_t)");
export const munmapRaw: (addr: number | bigint, len: number) => number = lib.func(
  "int munmap(uintptr_t, size_t)",
);

/** ioctl with one integer-or-pointer argument (fixed arity: x86-64 passes both in a register). */
export const ioctlRaw: (fd: number, req: number, arg: number | bigint) => number = lib.func(
  "int ioctl(int, unsigned long, uintptr_t)",
);

export const closeRaw: (fd: number) => number = lib.func("int close(int)");
export const readRaw: (fd: number, buf: Uint8Array, len: number) => number = lib.func(
  "long read(int, void *, size_t)",
);
export const writeRaw: (fd: number, buf: Uint8Array, len: number) => number = lib.func(
  "long write(int, void *, size_t)",
);

export const epollCreate1Raw: (flags: number) => number = lib.func("int epoll_create1(int)");
export const epollCtlRaw: (epfd: number, op: number, fd: number, ev: Uint8Array | null) => number = lib.func(
  "int epoll_ctl(int, int, int, void *)",
);
export const epollWaitRaw: (epfd: number, events: Uint8Array, max: number, timeout: number) => number =
  lib.func("int epoll_wait(int, void *, int, int)");
/**
 * epoll_wait taking the events buffer by address: used for `.async`, where the call runs
 * on a libuv pool thread and the JS buffer must not be marshalled (we pass a stable
 * off-heap ArrayBuffer's address instead).
 */
export const epollWaitAddr = lib.func("int epoll_wait(int, uintptr_t, int, int)") as {
  (epfd: number, events: bigint, max: number, timeout: number): number;
  async(
    epfd: number,
    events: bigint,
    max: number,
    timeout: number,
    cb: (err: unknown, res: number) => void,
  ): void;
};

export const eventfdRaw: (initval: number, flags: number) => number = lib.func(
  "int eventfd(unsigned int, int)",
);

export const mountRaw: (
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string | null,
) => number = lib.func("int mount(const char *, const char *, const char *, unsigned long, const char *)");

export const getpid: () => number = lib.func("int getpid(void)");
export const gettid: () => number = lib.func("int gettid(void)");

/** errno of the last failed call on this thread. */
export function errno(): number {
  return koffi.errno();
}

/** Address of a buffer's first byte (honours byteOffset). Use only on off-heap memory. */
export function addressOf(buf: Uint8Array): bigint {
  return koffi.address(buf) as bigint;
}

/** Zero-copy ArrayBuffer over native memory (e.g. an mmap'd region). */
export function viewOf(addr: number | bigint, len: number): ArrayBuffer {
  return koffi.view(addr, len) as ArrayBuffer;
}
