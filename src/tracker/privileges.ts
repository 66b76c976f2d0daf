// The tracer's capabilities: can this process trace (checked before anything is
// loaded, so the user gets one sentence instead of a verifier or bpf(2) errno), and,
// once the programs are attached, giving up what the running tracer no longer needs.
//
// Loading and attaching needs CAP_BPF + CAP_PERFMON (Linux 5.8+) or CAP_SYS_ADMIN (what
// those two were split from); --failed also reads tracepoint ids from tracefs, mounted
// 0700 root, so a non-root tracer needs CAP_DAC_READ_SEARCH for it. After attach, what
// the tracer does needs none of them: it reads the ring buffer from memory it mapped,
// closes fds, and calls bpf() on fds it holds (Linux 6.5+ checks no capability for
// commands on an fd; before, kernel.unprivileged_bpf_disabled refused every bpf() call
// without CAP_BPF, which bpfOnFdNeedsCap() finds out). What it may still need:
//   CAP_SYS_PTRACE  while /proc is being read: /proc/PID/exe is a ptrace-mode read
//                   (fs/proc/base.c proc_exe_link), refused for another user's process,
//                   and for a root process holding capabilities we do not
//                   (commoncap.c cap_ptrace_access_check). Dropped once seeding is done.
//   whatever the caller keeps (the CLI: CAP_DAC_OVERRIDE when the -o directory is not
//                   writable without it, for rotation and reopening on SIGHUP).
import { readFileSync } from "node:fs";
import { bpfTry } from "../sys/bpf.ts";
import {
  CAP,
  type CapSets,
  capAmbientClearAll,
  capBit,
  capBoundingDrop,
  capBoundingSet,
  capGet,
  capLastCap,
  capSet,
  setNoNewPrivs,
} from "../sys/caps.ts";
import { BPF_MAP_LOOKUP_ELEM } from "../uapi.ts";
import { TracePrivilegeError } from "./errors.ts";

/** The effective capability mask from /proc/self/status text, or undefined if absent. */
export function effectiveCaps(status: string): bigint | undefined {
  return statusCaps(status, "CapEff");
}

/** One capability line of /proc/PID/status (CapInh, CapPrm, CapEff, CapBnd, CapAmb). */
export function statusCaps(status: string, field: string): bigint | undefined {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

const has = (mask: bigint, cap: number) => (mask & capBit(cap)) !== 0n;

/** True when a process with this effective mask may load and attach the tracer. */
export function capsAllowTracing(eff: bigint): boolean {
  return has(eff, CAP.CAP_SYS_ADMIN) || (has(eff, CAP.CAP_BPF) && has(eff, CAP.CAP_PERFMON));
}

/** Throws TracePrivilegeError when this process cannot trace. */
export function checkTracePrivileges(): void {
  if (process.geteuid?.() === 0) return;
  let eff: bigint | undefined;
  try {
    eff = effectiveCaps(readFileSync("/proc/self/status", "utf8"));
  } catch {
    // Without /proc we cannot tell; let the kernel decide.
    return;
  }
  if (eff === undefined || capsAllowTracing(eff)) return;
  throw new TracePrivilegeError();
}

/** What keepAfterAttach() decides from. */
export interface KeepInput {
  /** The permitted set now. */
  permitted: bigint;
  /** /proc is still being read (needs CAP_SYS_PTRACE for other users' /proc/PID/exe). */
  seeding: boolean;
  /** bpf() on an fd we hold is refused without CAP_BPF (bpfOnFdNeedsCap()). */
  bpfOnFdNeedsCap: boolean;
  /** Capabilities the caller still needs (a mask). */
  keep: bigint;
}

/** The capabilities the running tracer keeps: those of KeepInput it holds, nothing else. */
export function keepAfterAttach(i: KeepInput): bigint {
  let keep = i.keep;
  if (i.seeding) keep |= capBit(CAP.CAP_SYS_PTRACE);
  if (i.bpfOnFdNeedsCap)
    keep |= has(i.permitted, CAP.CAP_BPF) ? capBit(CAP.CAP_BPF) : capBit(CAP.CAP_SYS_ADMIN);
  return keep & i.permitted;
}

/**
 * Whether a `-- CMD` may keep root's capabilities: the tracer runs as root holding
 * CAP_SYS_ADMIN, i.e. an administrator ran it (`sudo tsbpf trace -- make install`
 * behaves as `sudo make install`, as under `sudo strace -f`). A root confined to fewer
 * capabilities (systemd's CapabilityBoundingSet=CAP_BPF CAP_PERFMON, setpriv) holds
 * them to trace, not to hand on: its command gets none.
 */
export function commandKeepsRoot(euid: number, effective: bigint): boolean {
  return euid === 0 && has(effective, CAP.CAP_SYS_ADMIN);
}

/**
 * Does bpf() on an fd (a map lookup, an object's info) need a capability on this
 * kernel? Asked with CAP_BPF and CAP_SYS_ADMIN out of the effective set for one call:
 * a lookup on fd -1 fails EBADF when the fd is looked at, EPERM when the kernel refused
 * before (kernel/bpf/syscall.c __sys_bpf, before Linux 6.5, with
 * kernel.unprivileged_bpf_disabled set).
 */
export function bpfOnFdNeedsCap(now: CapSets = capGet()): boolean {
  const without = now.effective & ~(capBit(CAP.CAP_BPF) | capBit(CAP.CAP_SYS_ADMIN));
  if (without === now.effective) return false;
  capSet({ ...now, effective: without });
  let r: number;
  try {
    const attr = new Uint8Array(32);
    new DataView(attr.buffer).setInt32(0, -1, true); // map_fd
    r = bpfTry(BPF_MAP_LOOKUP_ELEM, attr);
  } finally {
    capSet(now);
  }
  return r === -1; // -EPERM
}

/** What dropCapabilities() did. */
export interface CapDrop {
  /** The effective (= permitted) set kept. */
  kept: bigint;
  /** The bounding set was emptied (CAP_SETPCAP was held). */
  boundingCleared: boolean;
  /** no_new_privs was set (a root tracer that could not empty its bounding set). */
  noNewPrivs: boolean;
}

/**
 * Gives up every capability of the calling thread except `keep`: the ambient and
 * inheritable sets are emptied (so nothing passes to a program it starts), permitted
 * and effective become `keep`, and the bounding set is emptied when CAP_SETPCAP allows
 * (so neither the tracer nor a root child regains a capability through execve). A root
 * tracer without CAP_SETPCAP sets no_new_privs instead: an execve then grants nothing
 * beyond the permitted set (security/commoncap.c cap_bprm_creds_from_file).
 * Acts on the calling thread: processes forked afterwards inherit it.
 */
export function dropCapabilities(keep: bigint, euid = process.geteuid?.() ?? -1): CapDrop {
  capAmbientClearAll();
  const now = capGet();
  let boundingCleared = false;
  let noNewPrivs = false;
  const last = capLastCap();
  if (has(now.effective, CAP.CAP_SETPCAP)) {
    for (let c = 0; c <= last; c++) capBoundingDrop(c);
    boundingCleared = true;
  } else if (euid === 0 && capBoundingSet(last) !== 0n) {
    setNoNewPrivs();
    noNewPrivs = true;
  }
  const kept = keep & now.permitted;
  capSet({ effective: kept, permitted: kept, inheritable: 0n });
  return { kept, boundingCleared, noNewPrivs };
}

/** Empties the ambient and inheritable sets only: what a program started next inherits. */
export function clearInheritedCapabilities(): void {
  capAmbientClearAll();
  const now = capGet();
  if (now.inheritable !== 0n) capSet({ ...now, inheritable: 0n });
}

/**
 * After attach: keeps what the running tracer needs (keepAfterAttach) plus `keep`, and
 * drops the rest; `seeding` says /proc is still being read. Call again with seeding
 * false once it is done, to drop CAP_SYS_PTRACE too.
 */
export function dropAfterAttach(seeding: boolean, keep = 0n): CapDrop {
  const now = capGet();
  const kept = keepAfterAttach({
    permitted: now.permitted,
    seeding,
    bpfOnFdNeedsCap: bpfOnFdNeedsCap(now),
    keep,
  });
  return dropCapabilities(kept);
}
