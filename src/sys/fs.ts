// Mounting the pseudo file systems tsbpf needs: bpffs for pins, tracefs for
// tracepoint ids. mount(2) goes through libc; /proc/self/mountinfo tells what is there.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { TsbpfError } from "../errors.ts";
import { ERRNO_NAMES } from "./errors.ts";
import { sys } from "./syscalls.ts";

export class MountError extends TsbpfError {}

const TARGETS = {
  bpf: { fstype: "bpf", source: "bpf", path: "/sys/fs/bpf" },
  tracefs: { fstype: "tracefs", source: "nodev", path: "/sys/kernel/tracing" },
} as const;

/** Mount points of a file-system type, from /proc/self/mountinfo (field after " - "). */
export function mountPointsOf(fstype: string): string[] {
  const out: string[] = [];
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    if (post[0] === fstype && pre[4]) out.push(pre[4].replace(/\\040/g, " "));
  }
  return out;
}

/**
 * Make sure bpffs is mounted at /sys/fs/bpf (or tracefs at /sys/kernel/tracing);
 * returns that path. Mounts it when absent, with a clear error when that fails.
 */
export function mountIfAbsent(kind: "bpf" | "tracefs"): string {
  const t = TARGETS[kind];
  if (mountPointsOf(t.fstype).includes(t.path)) return t.path;
  try {
    if (!existsSync(t.path)) mkdirSync(t.path, { recursive: true });
  } catch (e) {
    throw new MountError(`cannot create mount point ${t.path} for ${kind}: ${(e as Error).message}`);
  }
  if (sys.mount(t.source, t.path, t.fstype, 0, null) < 0) {
    const err = sys.errno();
    const code = ERRNO_NAMES[err] ?? `errno ${err}`;
    const why =
      code === "EPERM"
        ? "needs root (CAP_SYS_ADMIN)"
        : code === "ENODEV"
          ? `the kernel has no ${t.fstype} file system`
          : code;
    throw new MountError(
      `cannot mount ${t.fstype} at ${t.path}: ${why}; mount it by hand: mount -t ${t.fstype} ${t.source} ${t.path}`,
    );
  }
  return t.path;
}
