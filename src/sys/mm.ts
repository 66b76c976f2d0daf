// mmap(2)/munmap(2) and zero-copy views over mapped memory (ring buffers, mmapable
// array maps). Constants from include/uapi/asm-generic/mman-common.h / mman.h.
import { SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;

/** (void *)-1 as koffi returns it for uintptr_t. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** mmap(NULL, len, prot, flags, fd, offset) → address; throws SyscallError on MAP_FAILED. */
export function mmap(
  len: number,
  prot: number,
  flags: number,
  fd: number,
  offset = 0,
  what?: string,
): bigint {
  const r = sys.mmap(0, len, prot, flags, fd, offset);
  const addr = BigInt(r);
  if (addr === MAP_FAILED) {
    throw new SyscallError("mmap", sys.errno(), {
      what: what ?? `fd ${fd}`,
      fields: { len, prot, flags, offset },
    });
  }
  return addr;
}

export function munmap(addr: bigint, len: number): void {
  const r = sys.munmap(addr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(addr) : addr, len);
  if (r < 0) throw new SyscallError("munmap", sys.errno(), { fields: { len } });
}

// madvise(2) advice values (include/uapi/asm-generic/mman-common.h).
/** Drop the range's pages from this process: a private file mapping refaults them from the page cache. */
export const MADV_DONTNEED = 4;
/** Deactivate the range's pages: reclaimed first under memory pressure (Linux 5.4). */
export const MADV_COLD = 20;
/** Reclaim the range's pages now (Linux 5.4). */
export const MADV_PAGEOUT = 21;

/** madvise(addr, len, advice); throws SyscallError on failure. */
export function madvise(addr: bigint, len: number, advice: number): void {
  const r = sys.madvise(addr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(addr) : addr, len, advice);
  if (r < 0) throw new SyscallError("madvise", sys.errno(), { fields: { len, advice } });
}

/**
 * Zero-copy ArrayBuffer over [addr, addr+len). Writing through a view of a PROT_READ
 * mapping kills the process with SIGSEGV (not a JS exception): callers must only build
 * writable views over writable mappings.
 */
export function view(addr: bigint, len: number): ArrayBuffer {
  return sys.view_of(addr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(addr) : addr, len);
}

/** Page size (x86-64: 4096). */
export const PAGE_SIZE = 4096;
