// SyscallError: a failed bpf(2)/perf_event_open(2)/mmap(2)/... call, with the errno
// decoded and a message that says what to do about it.
import { TsbpfError } from "../errors.ts";
import { BPF_MAP_TYPE, BPF_MAP_TYPE_NAMES } from "../uapi.ts";

/** errno values from include/uapi/asm-generic/errno-base.h / errno.h (x86-64). */
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  7: "E2BIG",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  28: "ENOSPC",
  30: "EROFS",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  40: "ELOOP",
  84: "EILSEQ",
  88: "ENOTSOCK",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  105: "ENOBUFS",
  111: "ECONNREFUSED",
  /** kernel-internal ENOTSUPP leaks out of some bpf paths */
  524: "ENOTSUPP",
};

export const ERRNO: Record<string, number> = Object.fromEntries(
  Object.entries(ERRNO_NAMES).map(([k, v]) => [v, Number(k)]),
);

const ERRNO_TEXT: Record<string, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file, entry or object",
  ESRCH: "no such process",
  EINTR: "interrupted",
  EIO: "I/O error",
  E2BIG: "argument too big",
  EBADF: "bad file descriptor",
  EAGAIN: "try again",
  ENOMEM: "out of memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "resource busy",
  EEXIST: "already exists",
  ENODEV: "no such device",
  ENOTDIR: "not a directory",
  EINVAL: "invalid argument",
  ENFILE: "too many open files in system",
  EMFILE: "too many open files",
  ENOSPC: "no space left",
  EROFS: "read-only",
  ERANGE: "out of range",
  ENAMETOOLONG: "name too long",
  ENOSYS: "not implemented by this kernel",
  ELOOP: "too many levels of symbolic links",
  EILSEQ: "illegal byte sequence (not an instruction boundary)",
  EOPNOTSUPP: "operation not supported",
  ENOTSUPP: "operation not supported",
  ENOTSOCK: "not a socket",
  EPROTONOSUPPORT: "protocol not supported",
  EAFNOSUPPORT: "address family not supported",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  ENOBUFS: "no buffer space available",
  ECONNREFUSED: "connection refused",
};

/** Extra detail a caller gives so the message can name the object and its settings. */
export interface SyscallContext {
  /** "map 'events'", "program 'handle_exec'", a path, ... */
  what?: string;
  /** Decoded attribute fields that were set (named as in linux/bpf.h). */
  fields?: Record<string, unknown>;
}

/** A syscall failed: `errno`/`code` say why, the message names the object and the attributes given. */
export class SyscallError extends TsbpfError {
  readonly errno: number;
  /** "EPERM" */
  readonly code: string;
  /** "bpf(BPF_MAP_CREATE)" */
  readonly syscall: string;
  readonly fields: Record<string, unknown> | undefined;
  constructor(syscall: string, errno: number, ctx: SyscallContext = {}) {
    super(buildMessage(syscall, errno, ctx));
    this.errno = errno;
    this.code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    this.syscall = syscall;
    this.fields = ctx.fields;
  }
}

function fmtFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === 0 || v === 0n || v === "" || v === undefined) continue;
    let s = typeof v === "string" ? `'${v}'` : String(v);
    if (k === "map_type" && typeof v === "number") s += ` (${BPF_MAP_TYPE_NAMES[v] ?? "unknown"})`;
    parts.push(`${k}=${s}`);
  }
  return parts.join(" ");
}

/** A hint specific to one command and its fields, when a common cause is known. */
function hint(syscall: string, code: string, fields: Record<string, unknown> | undefined): string {
  const f = fields ?? {};
  if (syscall === "bpf(BPF_MAP_CREATE)" && (code === "EINVAL" || code === "E2BIG")) {
    // kernel/bpf/ringbuf.c: ringbuf_map_alloc requires key/value 0 and a page-aligned power of 2.
    if (f.map_type === BPF_MAP_TYPE.RINGBUF)
      return " (must be a power-of-2 multiple of the page size, key_size and value_size 0)";
    if (f.map_type === BPF_MAP_TYPE.PERF_EVENT_ARRAY)
      return " (key_size and value_size must be 4; max_entries at most the number of CPUs)";
    if (f.map_type === BPF_MAP_TYPE.ARRAY_OF_MAPS || f.map_type === BPF_MAP_TYPE.HASH_OF_MAPS)
      return " (needs inner_map_fd of a compatible template map; value_size 4)";
    return " (the kernel rejects unknown map_flags, zero sizes, and BTF ids that do not match key_size/value_size)";
  }
  if (syscall === "bpf(BPF_MAP_UPDATE_ELEM)" && code === "EEXIST")
    return " (BPF_NOEXIST was given and the key is present)";
  if (syscall === "bpf(BPF_MAP_UPDATE_ELEM)" && code === "E2BIG")
    return " (the map is full: max_entries reached)";
  if (syscall === "bpf(BPF_MAP_UPDATE_ELEM)" && code === "EPERM")
    return " (the map is frozen or read-only from user space)";
  if (syscall.startsWith("bpf(BPF_MAP_") && code === "ENOENT") return " (no such key)";
  if (syscall === "bpf(BPF_OBJ_GET)" && code === "ENOENT") return " (nothing is pinned at that path)";
  if (syscall === "bpf(BPF_OBJ_PIN)" && code === "EEXIST")
    return " (a file already exists at that path: remove it or reuse the pin)";
  if (syscall === "bpf(BPF_OBJ_PIN)" && code === "EPERM")
    return " (the path must be inside a bpf filesystem, e.g. /sys/fs/bpf)";
  return "";
}

function buildMessage(syscall: string, errno: number, ctx: SyscallContext): string {
  const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
  const text = ERRNO_TEXT[code] ?? "failed";
  const head = ctx.what ? `${syscall} ${ctx.what}` : syscall;
  const privileged = syscall.startsWith("bpf(") || syscall.startsWith("perf_event_open");
  const isProgLoad = syscall === "bpf(BPF_PROG_LOAD)";
  if (privileged && (code === "EPERM" || (code === "EACCES" && !isProgLoad))) {
    // EPERM on PROG_LOAD is capability; EACCES on PROG_LOAD is the verifier (loader reports it).
    const h = hint(syscall, code, ctx.fields);
    if (h) return `${head}: ${text} (${code})${h}`;
    return `${head}: ${text}: needs root, or CAP_BPF + CAP_PERFMON (and kernel.unprivileged_bpf_disabled / perf_event_paranoid allowing it)`;
  }
  const fields = fmtFields(ctx.fields);
  let msg = `${head}: ${text} (${code})`;
  if (code === "ENOMEM")
    msg +=
      ": the kernel could not allocate the object (on kernels before 5.11, raise RLIMIT_MEMLOCK: ulimit -l unlimited)";
  else if (code === "ENOSYS" || code === "EOPNOTSUPP" || code === "ENOTSUPP")
    msg += ": this kernel does not support the request";
  else if (code === "EBADF") msg += ": a file descriptor passed in was closed or is of the wrong kind";
  else if (code === "EMFILE") msg += ": raise the open-file limit (ulimit -n)";
  if (fields && (code === "EINVAL" || code === "E2BIG" || code === "ENOSPC" || code === "ERANGE"))
    msg += `: check ${fields}`;
  return msg + hint(syscall, code, ctx.fields);
}
