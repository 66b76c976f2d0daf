// Attach targets shared by the network links: an interface (by name or index, in this
// thread's network namespace or in another one) and a cgroup v2 directory.
import { statSync } from "node:fs";
import { getFdById, progInfo } from "../sys/bpf.ts";
import { mountPointsOf } from "../sys/fs.ts";
import { ifNameToIndex, inNetns } from "../sys/socket.ts";
import { AttachError } from "./link.ts";

export interface InterfaceTarget {
  /** Interface name ("eth0") or index. */
  iface: string | number;
  /**
   * Network namespace the interface lives in: a path such as /run/netns/NAME or
   * /proc/PID/ns/net. Default: the caller's.
   */
  netns?: string;
}

/** Runs `fn` in the target's network namespace (or right here without one). */
export function inTargetNetns<T>(t: { netns?: string }, fn: () => T): T {
  return t.netns ? inNetns(t.netns, fn) : fn();
}

/** "veth0 (ifindex 5)" or "ifindex 5", plus " in /run/netns/x". */
export function describeInterface(t: InterfaceTarget, ifindex: number): string {
  const name = typeof t.iface === "string" ? `${t.iface} (ifindex ${ifindex})` : `ifindex ${ifindex}`;
  return t.netns ? `${name} in ${t.netns}` : name;
}

/**
 * The interface's index, resolved in the current thread's namespace (call inside
 * inTargetNetns). A name that does not exist is an AttachError naming it.
 */
export function resolveIfindex(t: InterfaceTarget): number {
  if (typeof t.iface === "number") {
    if (!Number.isInteger(t.iface) || t.iface <= 0)
      throw new AttachError(`interface index ${t.iface} is not a positive integer`);
    return t.iface;
  }
  if (/^\d+$/.test(t.iface)) return Number(t.iface);
  if (t.iface === "" || t.iface.length > 15)
    throw new AttachError(`'${t.iface}' is not an interface name (1 to 15 characters)`);
  const idx = ifNameToIndex(t.iface);
  if (idx === 0)
    throw new AttachError(`no network interface named '${t.iface}'${t.netns ? ` in ${t.netns}` : ""}`);
  return idx;
}

/**
 * A cgroup v2 directory: an absolute path, or a path relative to the cgroup2 mount
 * (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).
 */
export function resolveCgroupPath(cgroup: string): string {
  const mounts = mountPointsOf("cgroup2");
  let path = cgroup;
  if (!cgroup.startsWith("/")) {
    const root = mounts[0];
    if (!root)
      throw new AttachError("no cgroup v2 file system is mounted (mount -t cgroup2 none /sys/fs/cgroup)");
    path = `${root}/${cgroup}`;
  }
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new AttachError(`cgroup ${path} does not exist`);
  }
  if (!st.isDirectory()) throw new AttachError(`cgroup ${path} is not a directory`);
  if (!mounts.some((m) => path === m || path.startsWith(`${m}/`)))
    throw new AttachError(
      `${path} is not in a cgroup v2 hierarchy (cgroup2 is mounted at ${mounts.join(", ") || "nowhere"})`,
    );
  return path;
}

/**
 * A second fd for the program behind `progFd` (BPF_PROG_GET_FD_BY_ID), owned by an
 * attachment that must name its program again to undo itself (IFLA_XDP_EXPECTED_FD,
 * BPF_PROG_DETACH) even after the caller closed its own fd.
 */
export function ownProgramFd(progFd: number): number {
  return getFdById("prog", progInfo(progFd).id);
}

/** True for the errors that mean "the target is gone": nothing left to detach. */
export function targetGone(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "ENOENT" || code === "ENODEV" || code === "ESRCH";
}
