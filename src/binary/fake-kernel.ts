// A kernel that accepts everything, injected through the syscall seam
// (src/sys/syscalls.ts overrideSyscalls) while the single binary's start-up snapshot is
// built (snapshot-warmup.ts): the tracer's start-up JavaScript runs once against it, so
// its bytecode lands in the snapshot, without loading the native addon a snapshot may
// not hold.
import type { Syscalls } from "../sys/syscalls.ts";
import { BPF_BTF_LOAD, BPF_LINK_CREATE, BPF_MAP_CREATE, BPF_OBJ_GET, BPF_PROG_LOAD } from "../uapi.ts";

/** bpf() commands that return a new fd (include/uapi/linux/bpf.h). */
const FD_COMMANDS = new Set<number>([
  BPF_MAP_CREATE,
  BPF_PROG_LOAD,
  BPF_OBJ_GET,
  BPF_BTF_LOAD,
  BPF_LINK_CREATE,
]);

/** Far above any real fd, so a slip (a real close of a fake fd) cannot hit one. */
const FIRST_FAKE_FD = 1 << 24;

/** ENODEV (include/uapi/asm-generic/errno-base.h). */
const ENODEV = 19;

/**
 * The entry points a trace session's start goes through: each fd-returning command gets
 * a fresh fake fd, a map's mmap gets plain memory. What it leaves out throws
 * (overrideSyscalls fills the gaps that way).
 */
export function fakeKernel(): Partial<Syscalls> {
  let nextFd = FIRST_FAKE_FD;
  const regions: ArrayBuffer[] = [];
  let lastErrno = 0;
  return {
    bpf: (cmd) => (FD_COMMANDS.has(cmd) ? nextFd++ : 0),
    // A map's fd gets memory (global data is mmapped); a real file (vmlinux BTF) gets
    // ENODEV, so the BTF loader reads it instead.
    mmap: (_addr, len, _prot, _flags, fd) => {
      if (fd >= FIRST_FAKE_FD) {
        regions.push(new ArrayBuffer(len));
        return regions.length * 0x1000_0000;
      }
      lastErrno = ENODEV;
      return 0xffff_ffff_ffff_ffffn;
    },
    munmap: () => 0,
    view_of: (addr) => regions[Number(addr) / 0x1000_0000 - 1] as ArrayBuffer,
    // process_perf.bpf.o: one perf event per CPU, enabled by ioctl.
    perf_event_open: () => nextFd++,
    ioctl: () => 0,
    close: () => 0,
    // The ring-buffer reader's epoll set and wake eventfd (never waited on here).
    epoll_create1: () => nextFd++,
    epoll_ctl: () => 0,
    eventfd: () => nextFd++,
    read: (_fd, _buf, len) => len,
    write: (_fd, _buf, len) => len,
    // Any clock will do: timestamps only name the synthetic times.
    clock_gettime: (_clk, ts) => {
      new DataView(ts.buffer, ts.byteOffset, 16).setBigInt64(0, 1_000_000n, true);
      return 0;
    },
    errno: () => lastErrno,
    address_of: () => 0n,
  };
}
