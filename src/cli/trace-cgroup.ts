// Resolves `--cgroup PATH` and `--container ID` to a cgroup v2 id. The id the kernel
// reports (bpf_get_current_cgroup_id, kernfs_node id) is the inode number of the
// cgroup's directory in the unified hierarchy (kernel/cgroup/cgroup.c
// cgroup_id() == kernfs_ino), so a stat(2) of the directory gives it.
import { readdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { TsbpfError, UsageError } from "../errors.ts";

export const CGROUP_ROOT = "/sys/fs/cgroup";

/** `--cgroup` accepts /sys/fs/cgroup/a/b, or a/b and /a/b relative to the cgroup root. */
export function cgroupIdOfPath(path: string, root = CGROUP_ROOT): bigint {
  const full = isAbsolute(path) && (path === root || path.startsWith(`${root}/`)) ? path : join(root, path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(full, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(`trace: --cgroup ${path}: no such cgroup (${full}: ${code})`);
  }
  if (!st.isDirectory()) throw new UsageError(`trace: --cgroup ${path}: ${full} is not a cgroup directory`);
  return st.ino;
}

/**
 * Finds the cgroup of a container: the directory whose name contains the id (docker
 * "docker-<id>.scope" or ".../<id>", podman "libpod-<id>.scope", containerd
 * "cri-containerd-<id>.scope"). Prefix of at least 4 hex digits, like `docker ps`.
 */
export function cgroupIdOfContainer(id: string, root = CGROUP_ROOT): { id: bigint; path: string } {
  if (!/^[0-9a-f]{4,64}$/i.test(id))
    throw new UsageError(`trace: --container ${id}: expected a container id (4 to 64 hex digits)`);
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
    throw new TsbpfError(
      `trace: --container ${id}: no cgroup under ${root} belongs to a container with this id`,
    );
  if (found.length > 1)
    throw new UsageError(
      `trace: --container ${id}: ambiguous, matches ${found.join(" and ")}; give more of the id`,
    );
  const path = found[0] as string;
  return { id: statSync(path, { bigint: true }).ino, path };
}
