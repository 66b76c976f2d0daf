// cgroup programs (cgroup_skb, cgroup/sock_create, connect4/6, sysctl, sockops, ...):
// BPF_LINK_CREATE with the fd of a cgroup v2 directory and the program's attach type
// (5.7+): the program runs for every process in that cgroup and its descendants, and
// the link detaches on close. Older kernels, or a caller that asks, get BPF_PROG_ATTACH
// with BPF_F_ALLOW_MULTI (other programs on the same hook keep running) and
// BPF_PROG_DETACH of exactly this program on close.
import { closeFd, linkCreate, progAttach, progDetach, SyscallError } from "../sys/bpf.ts";
import { openPath } from "../sys/socket.ts";
import { BPF_F_ALLOW_MULTI } from "../uapi.ts";
import { AttachError, Link } from "./link.ts";
import { ownProgramFd, resolveCgroupPath, targetGone } from "./target.ts";

export interface CgroupOptions {
  /** cgroup v2 directory: absolute, or relative to the cgroup2 mount. */
  cgroup: string;
  /** Default "auto": a bpf_link, BPF_PROG_ATTACH when the kernel has no cgroup links. */
  method?: "auto" | "link" | "prog_attach";
}

export function attachCgroup(progFd: number, program: string, attachType: number, opts: CgroupOptions): Link {
  const path = resolveCgroupPath(opts.cgroup);
  const method = opts.method ?? "auto";
  const cg = openPath(path, `cgroup ${path}`);
  // A prog_attach Link keeps the cgroup fd (its detach needs it); otherwise it is closed here.
  let keepCg = false;
  try {
    if (method !== "prog_attach") {
      try {
        const fd = linkCreate({ prog_fd: progFd, target_fd: cg, attach_type: attachType }, `cgroup ${path}`);
        return new Link({ fd, kind: "cgroup", program, target: path, isBpfLink: true });
      } catch (e) {
        if (method === "link" || !(e instanceof SyscallError) || e.code !== "EINVAL") throw mismatch(e, path);
      }
    }
    const own = ownProgramFd(progFd);
    try {
      progAttach(
        { target_fd: cg, attach_bpf_fd: own, attach_type: attachType, attach_flags: BPF_F_ALLOW_MULTI },
        `cgroup ${path}`,
      );
    } catch (e) {
      closeFd(own);
      throw mismatch(e, path);
    }
    keepCg = true;
    const detach = () => {
      try {
        progDetach({ target_fd: cg, attach_bpf_fd: own, attach_type: attachType }, `cgroup ${path}`);
      } catch (e) {
        if (!targetGone(e)) throw e;
      }
    };
    // The cgroup fd and the program fd stay open until the Link closes: detach needs both.
    return new Link({
      fd: -1,
      kind: "cgroup",
      program,
      target: path,
      isBpfLink: false,
      method: "prog_attach",
      owned: [own, cg],
      detach,
    });
  } finally {
    if (!keepCg) closeFd(cg);
  }
}

function mismatch(e: unknown, path: string): unknown {
  if (e instanceof SyscallError && e.code === "EINVAL")
    return new AttachError(
      `cgroup ${path}: the kernel refused the attachment (EINVAL): the program's attach type does not match its hook, or the hook is not supported by this kernel`,
    );
  return e;
}
