// Can this process trace? Root, or CAP_BPF + CAP_PERFMON (Linux 5.8+), or CAP_SYS_ADMIN
// (what those two were split from). Checked before anything is loaded, so the user
// gets one sentence instead of a verifier or bpf(2) errno.
import { readFileSync } from "node:fs";
import { TracePrivilegeError } from "./errors.ts";

/** Capability numbers, include/uapi/linux/capability.h. */
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** The effective capability mask from /proc/self/status text, or undefined if absent. */
export function effectiveCaps(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** True when a process with this effective mask may load and attach the tracer. */
export function capsAllowTracing(eff: bigint): boolean {
  const has = (c: bigint) => ((eff >> c) & 1n) === 1n;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
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
