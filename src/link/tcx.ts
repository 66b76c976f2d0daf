// tcx (6.6+): BPF_LINK_CREATE with attach_type BPF_TCX_INGRESS/EGRESS and the ifindex.
// No qdisc, several programs per hook in a defined order, and a bpf_link that detaches
// on close and can be pinned. A kernel without tcx answers EINVAL; then (unless the
// caller asked for tcx only) the program goes into a clsact qdisc as a cls_bpf filter.
import { linkCreate, SyscallError } from "../sys/bpf.ts";
import { BPF_ATTACH_TYPE, BPF_F_AFTER, BPF_F_BEFORE } from "../uapi.ts";
import { AttachError, Link } from "./link.ts";
import { describeInterface, type InterfaceTarget, inTargetNetns, resolveIfindex } from "./target.ts";
import { attachTcFilter, type TcDirection } from "./tc.ts";

export interface TcxOptions extends InterfaceTarget {
  direction: TcDirection;
  /** Default "auto": tcx, cls_bpf over netlink when the kernel has no tcx. */
  method?: "auto" | "tcx" | "netlink";
  /** Run before or after the program/link with this fd (default: last). */
  before?: number;
  after?: number;
  /** Fail (ESTALE) unless the hook is still at this revision. */
  expectedRevision?: bigint;
}

export function attachTcx(progFd: number, program: string, opts: TcxOptions): Link {
  if (opts.direction !== "ingress" && opts.direction !== "egress")
    throw new AttachError(`tc direction '${String(opts.direction)}' is not ingress or egress`);
  if (opts.before !== undefined && opts.after !== undefined)
    throw new AttachError("tcx: give before or after, not both");
  const method = opts.method ?? "auto";
  if (method === "netlink") return attachTcFilter(progFd, program, opts);
  const fallback = inTargetNetns(opts, () => {
    const ifindex = resolveIfindex(opts);
    const target = `${describeInterface(opts, ifindex)} ${opts.direction}`;
    const attachType =
      opts.direction === "ingress" ? BPF_ATTACH_TYPE.BPF_TCX_INGRESS : BPF_ATTACH_TYPE.BPF_TCX_EGRESS;
    const relative = opts.before ?? opts.after;
    try {
      const fd = linkCreate(
        {
          prog_fd: progFd,
          target_fd: ifindex,
          attach_type: attachType,
          flags: opts.before !== undefined ? BPF_F_BEFORE : opts.after !== undefined ? BPF_F_AFTER : 0,
          relative_fd: relative,
          expected_revision: opts.expectedRevision,
        },
        `tcx on ${target}`,
      );
      return new Link({ fd, kind: "tcx", program, target, isBpfLink: true });
    } catch (e) {
      if (method === "tcx" || !(e instanceof SyscallError) || e.code !== "EINVAL") throw e;
      return undefined;
    }
  });
  return fallback ?? attachTcFilter(progFd, program, opts);
}
