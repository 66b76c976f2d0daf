// BTF-typed attachments: tp_btf, fentry/fexit/fmod_ret and lsm. The target was fixed
// at load time (attach_btf_id), so attaching only names the program: BPF_LINK_CREATE
// with the program's expected attach type (5.x+ kernels), falling back to
// BPF_RAW_TRACEPOINT_OPEN with a NULL name on kernels whose LINK_CREATE lacks it.
import { linkCreate, rawTracepointOpen, SyscallError } from "../sys/bpf.ts";
import { type AttachKind, Link } from "./link.ts";

export function attachTracing(
  progFd: number,
  program: string,
  kind: AttachKind,
  attachType: number,
  target: string,
): Link {
  try {
    const fd = linkCreate({ prog_fd: progFd, target_fd: 0, attach_type: attachType }, `program '${program}'`);
    return new Link({ fd, kind, program, target, isBpfLink: true });
  } catch (e) {
    if (
      !(e instanceof SyscallError) ||
      (e.code !== "EINVAL" && e.code !== "EOPNOTSUPP" && e.code !== "ENOTSUPP")
    )
      throw e;
    const fd = rawTracepointOpen(null, progFd);
    return new Link({ fd, kind, program, target, isBpfLink: true });
  }
}
