// Per-architecture facts the raw syscalls need: the numbers of the two syscalls libc has
// no wrapper for (x86-64: arch/x86/entry/syscalls/syscall_64.tbl; arm64 and every
// architecture on the generic table: include/uapi/asm-generic/unistd.h), and the layout
// of struct epoll_event, the one UAPI struct tsbpf uses whose layout differs by
// architecture. Everything else tsbpf passes (bpf_attr, perf_event_attr, the ring buffer
// header) is the same on every 64-bit little-endian architecture.
import { TsbpfError } from "../errors.ts";

export interface ArchSyscalls {
  bpf: number;
  perf_event_open: number;
}

export const SYSCALLS_BY_ARCH: Readonly<Record<string, ArchSyscalls>> = {
  x64: { bpf: 321, perf_event_open: 298 },
  arm64: { bpf: 280, perf_event_open: 241 },
};

/** struct epoll_event: u32 events, then u64 data at `data`; `size` bytes per record. */
export interface EpollEventLayout {
  size: number;
  data: number;
}

/**
 * include/uapi/linux/eventpoll.h packs struct epoll_event on x86-64 only (EPOLL_PACKED,
 * for compatibility with 32-bit x86); every other architecture aligns data to 8.
 */
export function epollEventLayout(arch: string = process.arch): EpollEventLayout {
  return arch === "x64" ? { size: 12, data: 4 } : { size: 16, data: 8 };
}

/** This machine has no entry in SYSCALLS_BY_ARCH. */
export class UnsupportedArchError extends TsbpfError {}

/** The syscall numbers of `arch` (process.arch); one clear error for any other. */
export function archSyscalls(arch: string = process.arch): ArchSyscalls {
  const t = SYSCALLS_BY_ARCH[arch];
  if (!t)
    throw new UnsupportedArchError(
      `tsbpf does not know the bpf(2) syscall number on ${arch} (supported: ${Object.keys(SYSCALLS_BY_ARCH).join(", ")})`,
    );
  return t;
}
