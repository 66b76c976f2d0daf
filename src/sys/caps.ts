// Process capabilities (capabilities(7)): capget(2)/capset(2) with
// _LINUX_CAPABILITY_VERSION_3 (each set is two 32-bit words), and the prctl(2) calls for
// the bounding set, the ambient set and no_new_privs. Every one of these reads or
// changes the CALLING THREAD's credentials only: a thread created later copies its
// creator's (kernel/cred.c copy_creds), a process forked later copies the forking
// thread's.
import { readFileSync } from "node:fs";
import { SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

/** Capability numbers, include/uapi/linux/capability.h (the ones tsbpf reasons about). */
export const CAP = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_KILL: 5,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_ADMIN: 12,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

export type CapName = keyof typeof CAP;

/** The three per-thread sets capget(2) reports, as bit masks (bit N = capability N). */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** include/uapi/linux/capability.h */
const _LINUX_CAPABILITY_VERSION_3 = 0x20080522;
/** include/uapi/linux/prctl.h */
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;

export const capBit = (cap: number): bigint => 1n << BigInt(cap);

/** Names of the capabilities in `mask` ("CAP_BPF"), numbers for ones without a name here. */
export function capNames(mask: bigint): string[] {
  const byNum = new Map<number, string>(Object.entries(CAP).map(([k, v]) => [v, k]));
  const out: string[] = [];
  for (let c = 0; c < 64; c++) if ((mask >> BigInt(c)) & 1n) out.push(byNum.get(c) ?? `cap ${c}`);
  return out;
}

function header(): Uint8Array {
  const hdr = new Uint8Array(8);
  const v = new DataView(hdr.buffer);
  v.setUint32(0, _LINUX_CAPABILITY_VERSION_3, true);
  v.setInt32(4, 0, true); // pid 0: the calling thread
  return hdr;
}

/** The calling thread's effective, permitted and inheritable sets. */
export function capGet(): CapSets {
  const data = new Uint8Array(24);
  if (sys.capget(header(), data) < 0) throw new SyscallError("capget", sys.errno());
  const v = new DataView(data.buffer);
  // struct __user_cap_data_struct { __u32 effective, permitted, inheritable; } [2]
  const word = (set: number) =>
    BigInt(v.getUint32(set * 4, true)) | (BigInt(v.getUint32(12 + set * 4, true)) << 32n);
  return { effective: word(0), permitted: word(1), inheritable: word(2) };
}

/**
 * Sets the calling thread's sets. The kernel refuses (EPERM) to add to permitted, to
 * put in effective what is not permitted, or (without CAP_SETPCAP) to add to
 * inheritable what is not permitted.
 */
export function capSet(sets: CapSets): void {
  const data = new Uint8Array(24);
  const v = new DataView(data.buffer);
  const put = (set: number, mask: bigint) => {
    v.setUint32(set * 4, Number(mask & 0xffffffffn), true);
    v.setUint32(12 + set * 4, Number((mask >> 32n) & 0xffffffffn), true);
  };
  put(0, sets.effective);
  put(1, sets.permitted);
  put(2, sets.inheritable);
  if (sys.capset(header(), data) < 0) throw new SyscallError("capset", sys.errno());
}

/** The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
export function capLastCap(): number {
  try {
    return Number.parseInt(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"), 10);
  } catch {
    return CAP.CAP_BPF + 1; // CAP_CHECKPOINT_RESTORE (40), Linux 5.9+
  }
}

/** Every capability this kernel knows, as a mask. */
export function allCaps(last = capLastCap()): bigint {
  return (1n << BigInt(last + 1)) - 1n;
}

/** The calling thread's bounding set. */
export function capBoundingSet(last = capLastCap()): bigint {
  let mask = 0n;
  for (let c = 0; c <= last; c++) if (sys.prctl(PR_CAPBSET_READ, c, 0, 0, 0) === 1) mask |= capBit(c);
  return mask;
}

/** Removes `cap` from the calling thread's bounding set (needs CAP_SETPCAP). */
export function capBoundingDrop(cap: number): void {
  if (sys.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
    throw new SyscallError("prctl(PR_CAPBSET_DROP)", sys.errno());
}

/** Empties the calling thread's ambient set (needs no privilege). */
export function capAmbientClearAll(): void {
  if (sys.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    throw new SyscallError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", sys.errno());
}

/** Sets no_new_privs: no later execve can grant a capability the thread does not have. */
export function setNoNewPrivs(): void {
  if (sys.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    throw new SyscallError("prctl(PR_SET_NO_NEW_PRIVS)", sys.errno());
}
