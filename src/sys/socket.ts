// Sockets, interface indexes and network namespaces: the raw calls behind rtnetlink
// (XDP and tc attach over netlink), SO_ATTACH_BPF and attaching inside another
// network namespace. Constants from include/uapi/linux/socket.h, asm-generic/socket.h
// and linux/netlink.h (x86-64 values).
import { SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const AF_XDP = 44;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
/** SO_DETACH_FILTER also detaches an eBPF filter (SO_DETACH_BPF is an alias). */
export const SO_DETACH_BPF = 27;
export const SO_ATTACH_BPF = 50;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;

export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;

/** setns(2) nstype for a network namespace (linux/sched.h). */
export const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

function check(r: number, call: string, what?: string): number {
  if (r < 0) throw new SyscallError(call, sys.errno(), { what });
  return r;
}

/** socket(2) → fd (always close-on-exec). */
export function socket(domain: number, type: number, protocol: number, what?: string): number {
  return check(sys.socket(domain, type | SOCK_CLOEXEC, protocol), "socket", what);
}

export function bind(fd: number, addr: Uint8Array, what?: string): void {
  check(sys.bind(fd, addr, addr.byteLength), "bind", what);
}

export function connect(fd: number, addr: Uint8Array, what?: string): void {
  check(sys.connect(fd, addr, addr.byteLength), "connect", what);
}

/** sendto(2) of the whole buffer; returns the bytes sent. */
export function sendto(
  fd: number,
  buf: Uint8Array,
  addr: Uint8Array | null,
  flags = 0,
  what?: string,
): number {
  return check(sys.sendto(fd, buf, buf.byteLength, flags, addr, addr?.byteLength ?? 0), "sendto", what);
}

/** recv(2) into `buf`: bytes received (with MSG_TRUNC, the real length), or -1 on EAGAIN. */
export function recv(fd: number, buf: Uint8Array, flags = 0, what?: string): number {
  const r = sys.recvfrom(fd, buf, buf.byteLength, flags, null, null);
  if (r < 0) {
    const e = sys.errno();
    if (e === 11) return -1;
    throw new SyscallError("recv", e, { what });
  }
  return r;
}

export function setsockopt(fd: number, level: number, name: number, val: Uint8Array, what?: string): void {
  check(sys.setsockopt(fd, level, name, val, val.byteLength), `setsockopt(${level}, ${name})`, what);
}

export function setsockoptInt(fd: number, level: number, name: number, v: number, what?: string): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  setsockopt(fd, level, name, b, what);
}

/** getsockopt(2) into a buffer of `size` bytes; returns the bytes the kernel wrote. */
export function getsockopt(fd: number, level: number, name: number, size: number, what?: string): Uint8Array {
  const val = new Uint8Array(size);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, size, true);
  check(sys.getsockopt(fd, level, name, val, len), `getsockopt(${level}, ${name})`, what);
  return val.subarray(0, new DataView(len.buffer).getUint32(0, true));
}

export function close(fd: number): void {
  check(sys.close(fd), "close", `fd ${fd}`);
}

/** if_nametoindex(3): the interface's index in the calling thread's network namespace, 0 if none. */
export function ifNameToIndex(name: string): number {
  return sys.if_nametoindex(name) >>> 0;
}

/** open(2) read-only and close-on-exec: for namespace files and cgroup directories. */
export function openPath(path: string, what?: string): number {
  return check(sys.open(path, O_RDONLY | O_CLOEXEC), "open", what ?? path);
}

/**
 * Runs `fn` with the calling thread in the network namespace at `nsPath` (e.g.
 * /run/netns/NAME or /proc/PID/ns/net), then returns the thread to its own namespace.
 * setns(CLONE_NEWNET) moves only this thread (allowed in a multi-threaded process:
 * kernel/nsproxy.c); sockets and links made inside keep the namespace they were made in.
 * `fn` must be synchronous: nothing else may run on this thread while it is away.
 */
export function inNetns<T>(nsPath: string, fn: () => T): T {
  const target = openPath(nsPath, `network namespace ${nsPath}`);
  let home: number;
  try {
    home = openPath("/proc/thread-self/ns/net", "this thread's network namespace");
  } catch (e) {
    sys.close(target);
    throw e;
  }
  // Returning cannot fail for a namespace we came from; if it ever did, carrying on in
  // the wrong namespace would be worse than stopping with that error.
  const goHome = () => {
    if (sys.setns(home, CLONE_NEWNET) < 0)
      throw new SyscallError("setns", sys.errno(), { what: "returning to this thread's network namespace" });
  };
  try {
    check(sys.setns(target, CLONE_NEWNET), "setns", `network namespace ${nsPath}`);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      goHome();
      throw e;
    }
    goHome();
    return result;
  } finally {
    sys.close(home);
    sys.close(target);
  }
}
