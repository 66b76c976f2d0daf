// koffi bindings to the few libc entry points tsbpf needs. This file and the rest of
// src/sys are the only code that reaches native memory; everything above works on
// Uint8Array/DataView.
//
// Measured here (koffi 3.3, Node 20): a fixed-arity `syscall` declaration costs about
// 1.2 µs per bpf(BPF_MAP_LOOKUP_ELEM) against 1.5 µs for the variadic form, so each
// syscall shape gets its own fixed prototype. A Uint8Array passed to a `void *`
// parameter is passed by reference (kernel writes are visible afterwards, byteOffset
// is honoured), so no copy-in/copy-out happens on the hot path.
//
// Bound lazily: nothing here touches koffi until the first call, so the modules can be
// evaluated into the single binary's V8 start-up snapshot (scripts/build-sea.mjs), which
// may hold no native addon. Each export starts as a stub that binds the real function,
// stores it in the exported `let` (an ES live binding: importers call the real function
// directly from then on, with no wrapper on the hot path) and forwards the first call.
import { archSyscalls, SYSCALLS_BY_ARCH } from "./arch.ts";
import { getKoffi } from "./koffi.ts";

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
 * (TSBPF_TIMING): loading the native addon is start-up, a few ms in the single binary.
 */
export function preloadLibc(): boolean {
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: a stub forwards whatever its prototype takes
type Fn = (...args: any[]) => any;

/** A stub for `decl` that binds it on first use, hands it to `store`, and forwards the call. */
function lazy<F extends Fn>(decl: string, store: (f: F) => void): F {
  // Bound once even if a caller kept the stub itself rather than the live binding.
  let bound: F | undefined;
  return ((...args: Parameters<F>) => {
    if (bound === undefined) {
      bound = libc().func(decl) as unknown as F;
      store(bound);
    }
    return bound(...args);
  }) as F;
}

/** lazy(), refusing an architecture whose syscall numbers are unknown at the first call. */
function lazyArch<F extends Fn>(decl: string, store: (f: F) => void): F {
  const bind = lazy(decl, store);
  return ((...args: Parameters<F>) => {
    archSyscalls();
    return bind(...args);
  }) as F;
}

/**
 * The recorder bpf() reports to (src/sys/bpf-core.ts withBpfRecorder sets it for the
 * length of one synchronous call); typed loosely here to keep this module at the bottom.
 */
// biome-ignore lint/suspicious/noExplicitAny: the record type lives in bpf-core.ts
export let bpfRecorder: ((e: any) => void) | undefined;
// biome-ignore lint/suspicious/noExplicitAny: see bpfRecorder
export function setBpfRecorder(rec: ((e: any) => void) | undefined): void {
  bpfRecorder = rec;
}

/** This architecture's syscall numbers (src/sys/arch.ts; -1 on an unknown one, refused at bind). */
const ARCH = SYSCALLS_BY_ARCH[process.arch];
export const SYS_bpf = ARCH?.bpf ?? -1;
export const SYS_perf_event_open = ARCH?.perf_event_open ?? -1;

/** syscall(SYS_bpf, cmd, attr, size) */
export let sysBpf: (nr: number, cmd: number, attr: Uint8Array, size: number) => number = lazyArch(
  "long syscall(long, long, void *, long)",
  (f) => {
    sysBpf = f;
  },
);

/** syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags) */
export let sysPerfEventOpen: (
  nr: number,
  attr: Uint8Array,
  pid: number,
  cpu: number,
  groupFd: number,
  flags: number,
) => number = lazyArch("long syscall(long, void *, int, int, int, unsigned long)", (f) => {
  sysPerfEventOpen = f;
});

/** mmap returns the address as a number, or a bigint when above 2^53 (MAP_FAILED is 2^64-1). */
export let mmapRaw: (
  addr: number,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
) => number | bigint = lazy("uintptr_t mmap(uintptr_t, size_t, int, int, int, int64_t)", (f) => {
  mmapRaw = f;
});
export let munmapRaw: (addr: number | bigint, len: number) => number = lazy(
  "int munmap(uintptr_t, size_t)",
  (f) => {
    munmapRaw = f;
  },
);

/** ioctl with one integer-or-pointer argument (fixed arity: x86-64 passes both in a register). */
export let ioctlRaw: (fd: number, req: number, arg: number | bigint) => number = lazy(
  "int ioctl(int, unsigned long, uintptr_t)",
  (f) => {
    ioctlRaw = f;
  },
);

export let madviseRaw: (addr: number | bigint, len: number, advice: number) => number = lazy(
  "int madvise(uintptr_t, size_t, int)",
  (f) => {
    madviseRaw = f;
  },
);

export let closeRaw: (fd: number) => number = lazy("int close(int)", (f) => {
  closeRaw = f;
});
export let readRaw: (fd: number, buf: Uint8Array, len: number) => number = lazy(
  "long read(int, void *, size_t)",
  (f) => {
    readRaw = f;
  },
);
export let writeRaw: (fd: number, buf: Uint8Array, len: number) => number = lazy(
  "long write(int, void *, size_t)",
  (f) => {
    writeRaw = f;
  },
);

export let epollCreate1Raw: (flags: number) => number = lazy("int epoll_create1(int)", (f) => {
  epollCreate1Raw = f;
});
export let epollCtlRaw: (epfd: number, op: number, fd: number, ev: Uint8Array | null) => number = lazy(
  "int epoll_ctl(int, int, int, void *)",
  (f) => {
    epollCtlRaw = f;
  },
);
export let epollWaitRaw: (epfd: number, events: Uint8Array, max: number, timeout: number) => number = lazy(
  "int epoll_wait(int, void *, int, int)",
  (f) => {
    epollWaitRaw = f;
  },
);
/**
 * epoll_wait taking the events buffer by address: used for `.async`, where the call runs
 * on a libuv pool thread and the JS buffer must not be marshalled (we pass a stable
 * off-heap ArrayBuffer's address instead).
 */
type EpollWaitAddr = {
  (epfd: number, events: bigint, max: number, timeout: number): number;
  async(
    epfd: number,
    events: bigint,
    max: number,
    timeout: number,
    cb: (err: unknown, res: number) => void,
  ): void;
};
let epollWaitAddrFn: EpollWaitAddr | undefined;
function bindEpollWaitAddr(): EpollWaitAddr {
  if (epollWaitAddrFn === undefined)
    epollWaitAddrFn = libc().func("int epoll_wait(int, uintptr_t, int, int)") as unknown as EpollWaitAddr;
  return epollWaitAddrFn;
}
export const epollWaitAddr: EpollWaitAddr = Object.assign(
  (epfd: number, events: bigint, max: number, timeout: number) =>
    bindEpollWaitAddr()(epfd, events, max, timeout),
  {
    async: (
      epfd: number,
      events: bigint,
      max: number,
      timeout: number,
      cb: (err: unknown, res: number) => void,
    ) => bindEpollWaitAddr().async(epfd, events, max, timeout, cb),
  },
);

export let eventfdRaw: (initval: number, flags: number) => number = lazy(
  "int eventfd(unsigned int, int)",
  (f) => {
    eventfdRaw = f;
  },
);

export let mountRaw: (
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string | null,
) => number = lazy(
  "int mount(const char *, const char *, const char *, unsigned long, const char *)",
  (f) => {
    mountRaw = f;
  },
);

/** clock_gettime(clk, struct timespec *) */
export let clockGettimeRaw: (clk: number, ts: Uint8Array) => number = lazy(
  "int clock_gettime(int, void *)",
  (f) => {
    clockGettimeRaw = f;
  },
);

export let getpid: () => number = lazy("int getpid(void)", (f) => {
  getpid = f;
});
export let gettid: () => number = lazy("int gettid(void)", (f) => {
  gettid = f;
});

// Sockets, interfaces and namespaces: for rtnetlink (XDP/tc attach over netlink),
// SO_ATTACH_BPF and entering a network namespace.
export let socketRaw: (domain: number, type: number, protocol: number) => number = lazy(
  "int socket(int, int, int)",
  (f) => {
    socketRaw = f;
  },
);
export let bindRaw: (fd: number, addr: Uint8Array, len: number) => number = lazy(
  "int bind(int, void *, unsigned int)",
  (f) => {
    bindRaw = f;
  },
);
export let connectRaw: (fd: number, addr: Uint8Array, len: number) => number = lazy(
  "int connect(int, void *, unsigned int)",
  (f) => {
    connectRaw = f;
  },
);
export let sendtoRaw: (
  fd: number,
  buf: Uint8Array,
  len: number,
  flags: number,
  addr: Uint8Array | null,
  addrLen: number,
) => number = lazy("long sendto(int, void *, size_t, int, void *, unsigned int)", (f) => {
  sendtoRaw = f;
});
export let recvfromRaw: (
  fd: number,
  buf: Uint8Array,
  len: number,
  flags: number,
  addr: Uint8Array | null,
  addrLen: Uint8Array | null,
) => number = lazy("long recvfrom(int, void *, size_t, int, void *, void *)", (f) => {
  recvfromRaw = f;
});
export let setsockoptRaw: (fd: number, level: number, name: number, val: Uint8Array, len: number) => number =
  lazy("int setsockopt(int, int, int, void *, unsigned int)", (f) => {
    setsockoptRaw = f;
  });
export let getsockoptRaw: (
  fd: number,
  level: number,
  name: number,
  val: Uint8Array,
  len: Uint8Array,
) => number = lazy("int getsockopt(int, int, int, void *, void *)", (f) => {
  getsockoptRaw = f;
});
export let ifNametoindexRaw: (name: string) => number = lazy(
  "unsigned int if_nametoindex(const char *)",
  (f) => {
    ifNametoindexRaw = f;
  },
);
export let openRaw: (path: string, flags: number) => number = lazy("int open(const char *, int)", (f) => {
  openRaw = f;
});
export let setnsRaw: (fd: number, nstype: number) => number = lazy("int setns(int, int)", (f) => {
  setnsRaw = f;
});

/** capget(2)/capset(2): a cap_user_header_t and cap_user_data_t[2] (version 3). */
export let capgetRaw: (hdr: Uint8Array, data: Uint8Array) => number = lazy(
  "int capget(void *, void *)",
  (f) => {
    capgetRaw = f;
  },
);
export let capsetRaw: (hdr: Uint8Array, data: Uint8Array) => number = lazy(
  "int capset(void *, void *)",
  (f) => {
    capsetRaw = f;
  },
);
/** prctl(2) with its four unsigned long arguments. */
export let prctlRaw: (option: number, a2: number, a3: number, a4: number, a5: number) => number = lazy(
  "int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)",
  (f) => {
    prctlRaw = f;
  },
);

/** errno of the last failed call on this thread. */
export let errno: () => number = () => k().errno();

/** Address of a buffer's first byte (honours byteOffset). Use only on off-heap memory. */
export let addressOf: (buf: Uint8Array) => bigint = (buf) => k().address(buf) as bigint;

/** The entry points a trace session's start goes through, for installFakeLibc. */
export interface FakeLibc {
  sysBpf: typeof sysBpf;
  sysPerfEventOpen: typeof sysPerfEventOpen;
  ioctlRaw: typeof ioctlRaw;
  mmapRaw: typeof mmapRaw;
  munmapRaw: typeof munmapRaw;
  viewOf: typeof viewOf;
  closeRaw: typeof closeRaw;
  clockGettimeRaw: typeof clockGettimeRaw;
  epollCreate1Raw: typeof epollCreate1Raw;
  epollCtlRaw: typeof epollCtlRaw;
  eventfdRaw: typeof eventfdRaw;
  readRaw: typeof readRaw;
  writeRaw: typeof writeRaw;
  errno: typeof errno;
  addressOf: typeof addressOf;
}

/**
 * Replaces the libc entry points a trace session's start goes through with `fake` and
 * returns the function that puts the previous ones (normally the unbound stubs) back.
 * Only for the single binary's build (src/binary/snapshot-warmup.ts), where no native addon may
 * be loaded: it lets the tracer's start-up JavaScript run once, so its bytecode lands in
 * the start-up snapshot.
 */
export function installFakeLibc(fake: FakeLibc): () => void {
  const saved: FakeLibc = {
    sysBpf,
    sysPerfEventOpen,
    ioctlRaw,
    mmapRaw,
    munmapRaw,
    viewOf,
    closeRaw,
    clockGettimeRaw,
    epollCreate1Raw,
    epollCtlRaw,
    eventfdRaw,
    readRaw,
    writeRaw,
    errno,
    addressOf,
  };
  const set = (f: FakeLibc) => {
    sysBpf = f.sysBpf;
    sysPerfEventOpen = f.sysPerfEventOpen;
    ioctlRaw = f.ioctlRaw;
    mmapRaw = f.mmapRaw;
    munmapRaw = f.munmapRaw;
    viewOf = f.viewOf;
    closeRaw = f.closeRaw;
    clockGettimeRaw = f.clockGettimeRaw;
    epollCreate1Raw = f.epollCreate1Raw;
    epollCtlRaw = f.epollCtlRaw;
    eventfdRaw = f.eventfdRaw;
    readRaw = f.readRaw;
    writeRaw = f.writeRaw;
    errno = f.errno;
    addressOf = f.addressOf;
  };
  set(fake);
  return () => set(saved);
}

/** Zero-copy ArrayBuffer over native memory (e.g. an mmap'd region). */
export let viewOf: (addr: number | bigint, len: number) => ArrayBuffer = (addr, len) =>
  k().view(addr, len) as ArrayBuffer;
