// Resolves a cgroup path or a container id to a cgroup v2 id. The id the kernel
// reports (bpf_get_current_cgroup_id, kernfs_node id) is the inode number of the
// cgroup's directory in the unified hierarchy (kernel/cgroup/cgroup.c
// cgroup_id() == kernfs_ino), so a stat(2) of the directory gives it.
//
// The unified hierarchy is /sys/fs/cgroup on a pure-v2 system but
// /sys/fs/cgroup/unified on a "hybrid" one (v1 controllers at /sys/fs/cgroup/<name>),
// so the root is found in /proc/self/mountinfo, and a directory must be on a cgroup2
// filesystem: the inode of a v1 directory never equals a v2 cgroup id.
import { readdirSync, readFileSync, statfsSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { TraceConfigError } from "./errors.ts";

export const CGROUP_ROOT = "/sys/fs/cgroup";
/** statfs(2) f_type of cgroup2 (include/uapi/linux/magic.h CGROUP2_SUPER_MAGIC). */
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Mount points of cgroup2 filesystems in mountinfo text (proc(5): fstype after " - "). */
export function cgroup2Mounts(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0 || line.slice(sep + 3).split(" ")[0] !== "cgroup2") continue;
    // Field 5 is the mount point; spaces etc. are octal-escaped (\040).
    const mp = line.slice(0, sep).split(" ")[4];
    if (mp)
      out.push(mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
  }
  return out;
}

/** The cgroup v2 root: /sys/fs/cgroup, or /sys/fs/cgroup/unified (hybrid), or another cgroup2 mount. */
export function cgroup2Root(): string {
  let mounts: string[] = [];
  try {
    mounts = cgroup2Mounts(readFileSync("/proc/self/mountinfo", "utf8"));
  } catch {
    return CGROUP_ROOT;
  }
  for (const want of [CGROUP_ROOT, `${CGROUP_ROOT}/unified`]) if (mounts.includes(want)) return want;
  return mounts[0] ?? CGROUP_ROOT;
}

function isCgroup2(dir: string): boolean {
  try {
    return statfsSync(dir).type === CGROUP2_SUPER_MAGIC;
  } catch {
    return true; // cannot tell: trust the path
  }
}

/**
 * A cgroup is given as a directory in the cgroup v2 hierarchy (/sys/fs/cgroup/a/b, or
 * /sys/fs/cgroup/unified/a/b on a hybrid system), or a/b and /a/b relative to its root.
 */
export function cgroupIdOfPath(path: string, root = cgroup2Root()): bigint {
  const under = (r: string) => isAbsolute(path) && (path === r || path.startsWith(`${r}/`));
  // A path under /sys/fs/cgroup is taken as is (a v1 directory is then refused below).
  const full = under(root) || under(CGROUP_ROOT) ? path : join(root, path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(full, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new TraceConfigError("cgroup", path, `no such cgroup (${full}: ${code})`);
  }
  if (!st.isDirectory()) throw new TraceConfigError("cgroup", path, `${full} is not a cgroup directory`);
  if (!isCgroup2(full))
    throw new TraceConfigError(
      "cgroup",
      path,
      `${full} is not in the cgroup v2 hierarchy (mounted at ${root})`,
    );
  return st.ino;
}

/**
 * Finds the cgroup of a container: the directory whose name contains the id (docker
 * "docker-<id>.scope" or ".../<id>", podman "libpod-<id>.scope", containerd
 * "cri-containerd-<id>.scope"). Prefix of at least 4 hex digits, like `docker ps`.
 */
export function cgroupIdOfContainer(id: string, root = cgroup2Root()): { id: bigint; path: string } {
  if (!/^[0-9a-f]{4,64}$/i.test(id))
    throw new TraceConfigError("container", id, "expected a container id (4 to 64 hex digits)");
  const want = id.toLowerCase();
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 12 || found.length > 1) return;
    let ents: import("node:fs").Dirent[];
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      const m = /(?:^|[-/])([0-9a-f]{12,64})(?:\.scope)?$/.exec(e.name);
      if (m?.[1]?.startsWith(want)) found.push(p);
      else walk(p, depth + 1);
    }
  };
  walk(root, 0);
  if (found.length === 0)
    throw new TraceConfigError(
      "container",
      id,
      `no cgroup under ${root} belongs to a container with this id`,
      false,
    );
  if (found.length > 1)
    throw new TraceConfigError(
      "container",
      id,
      `ambiguous, matches ${found.join(" and ")}; give more of the id`,
    );
  const path = found[0] as string;
  return { id: statSync(path, { bigint: true }).ino, path };
}
