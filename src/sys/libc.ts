// The default Syscalls (syscalls.ts): koffi bindings to the few libc entry points
// tsbpf needs. Only this file and the rest of src/sys reach native memory; everything
// above works on Uint8Array/DataView.
//
// Each syscall shape gets its own fixed-arity prototype: koffi's variadic form costs
// more per call. A Uint8Array passed to a `void *` parameter is passed by reference
// (kernel writes are visible afterwards, byteOffset is honoured), so no copy-in/copy-out
// happens on the hot path.
//
// Bound lazily: nothing here touches koffi until the first call, so the modules can be
// evaluated into the single binary's V8 start-up snapshot, which may hold no native
// addon. Each entry of libcSyscalls starts as a stub that binds the real function,
// stores it in its own place (callers then reach koffi's function with no wrapper in
// between) and forwards the first call.
import { archSyscalls, SYSCALLS_BY_ARCH } from "./arch.ts";
import { getKoffi } from "./koffi.ts";
import type { Syscalls } from "./syscalls.ts";

type Koffi = ReturnType<typeof getKoffi>;
type Lib = ReturnType<Koffi["load"]>;

let koffiMod: Koffi | undefined;
let lib: Lib | undefined;

function k(): Koffi {
  if (koffiMod === undefined) koffiMod = getKoffi();
  return koffiMod;
}

function libc(): Lib {
  if (lib === undefined) lib = k().load("libc.so.6");
  return lib;
}

/**
 * Loads koffi's addon and libc now instead of at the first call; false when they cannot
 * be loaded (the first call then reports why). For commands that time their own work
 * (TSBPF_TIMING): loading the native addon is start-up, not the timed step.
 */
export function preloadLibc(): boolean {
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

/** This architecture's syscall numbers (arch.ts; -1 on an unknown one, refused at bind). */
const ARCH = SYSCALLS_BY_ARCH[process.arch];
export const SYS_bpf = ARCH?.bpf ?? -1;
export const SYS_perf_event_open = ARCH?.perf_event_open ?? -1;

// biome-ignore lint/suspicious/noExplicitAny: a stub forwards whatever its prototype takes
type Fn = (...args: any[]) => any;

/**
 * A stub for libcSyscalls[name] that binds `decl` on first use (through `wrap`, for
 * entries that add an argument), stores the result in libcSyscalls[name] and forwards
 * the call. `arch`: refuse an architecture whose syscall numbers are unknown.
 */
function lazy<K extends keyof Syscalls>(
  name: K,
  decl: string,
  wrap: (raw: Fn) => Syscalls[K] = (raw) => raw as Syscalls[K],
  arch = false,
): Syscalls[K] {
  // Bound once even if a caller kept the stub itself.
  let bound: Fn | undefined;
  return ((...args: unknown[]) => {
    if (bound === undefined) {
      if (arch) archSyscalls();
      bound = wrap(libc().func(decl) as Fn) as Fn;
      libcSyscalls[name] = bound as Syscalls[K];
    }
    return bound(...args);
  }) as Syscalls[K];
}

/** libc through koffi: what `sys` (syscalls.ts) is unless overridden. */
export const libcSyscalls: Syscalls = {
  bpf: lazy(
    "bpf",
    "long syscall(long, long, void *, long)",
    (raw) => (cmd, attr, size) => raw(SYS_bpf, cmd, attr, size),
    true,
  ),
  perf_event_open: lazy(
    "perf_event_open",
    "long syscall(long, void *, int, int, int, unsigned long)",
    (raw) => (attr, pid, cpu, groupFd, flags) => raw(SYS_perf_event_open, attr, pid, cpu, groupFd, flags),
    true,
  ),
  mmap: lazy("mmap", "uintptr_t mmap(uintptr_t, size_t, int, int, int, int64_t)"),
  munmap: lazy("munmap", "int munmap(uintptr_t, size_t)"),
  madvise: lazy("madvise", "int madvise(uintptr_t, size_t, int)"),
  // Fixed arity: x86-64 and arm64 pass an integer and a pointer in the same register.
  ioctl: lazy("ioctl", "int ioctl(int, unsigned long, uintptr_t)"),
  close: lazy("close", "int close(int)"),
  read: lazy("read", "long read(int, void *, size_t)"),
  write: lazy("write", "long write(int, void *, size_t)"),
  epoll_create1: lazy("epoll_create1", "int epoll_create1(int)"),
  epoll_ctl: lazy("epoll_ctl", "int epoll_ctl(int, int, int, void *)"),
  epoll_wait: lazy("epoll_wait", "int epoll_wait(int, void *, int, int)"),
  epoll_wait_async: lazy(
    "epoll_wait_async",
    "int epoll_wait(int, uintptr_t, int, int)",
    (raw) => (epfd, events, max, timeout, cb) =>
      (raw as Fn & { async: Fn }).async(epfd, events, max, timeout, cb),
  ),
  eventfd: lazy("eventfd", "int eventfd(unsigned int, int)"),
  mount: lazy("mount", "int mount(const char *, const char *, const char *, unsigned long, const char *)"),
  clock_gettime: lazy("clock_gettime", "int clock_gettime(int, void *)"),
  // Sockets, interfaces and namespaces: for rtnetlink (XDP/tc attach over netlink),
  // SO_ATTACH_BPF and entering a network namespace.
  socket: lazy("socket", "int socket(int, int, int)"),
  bind: lazy("bind", "int bind(int, void *, unsigned int)"),
  connect: lazy("connect", "int connect(int, void *, unsigned int)"),
  sendto: lazy("sendto", "long sendto(int, void *, size_t, int, void *, unsigned int)"),
  recvfrom: lazy("recvfrom", "long recvfrom(int, void *, size_t, int, void *, void *)"),
  setsockopt: lazy("setsockopt", "int setsockopt(int, int, int, void *, unsigned int)"),
  getsockopt: lazy("getsockopt", "int getsockopt(int, int, int, void *, void *)"),
  if_nametoindex: lazy("if_nametoindex", "unsigned int if_nametoindex(const char *)"),
  open: lazy("open", "int open(const char *, int)"),
  setns: lazy("setns", "int setns(int, int)"),
  // Capabilities (src/sys/caps.ts).
  capget: lazy("capget", "int capget(void *, void *)"),
  capset: lazy("capset", "int capset(void *, void *)"),
  prctl: lazy("prctl", "int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)"),
  errno: () => k().errno(),
  address_of: (buf) => k().address(buf) as bigint,
  view_of: (addr, len) => k().view(addr, len) as ArrayBuffer,
};
