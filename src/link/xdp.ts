// XDP: a program on an interface's receive path. BPF_LINK_CREATE with attach_type
// BPF_XDP and the ifindex (5.9+) gives a bpf_link that detaches when closed and can be
// pinned; kernels before that, or a caller that asks for it, get the netlink way:
// RTM_SETLINK with IFLA_XDP, which stays until it is removed, so the Link removes it
// on close (only if our program is still the one attached: XDP_FLAGS_REPLACE with
// IFLA_XDP_EXPECTED_FD).
import { withNetlink } from "../netlink/conn.ts";
import { setLinkXdp } from "../netlink/route.ts";
import { closeFd, linkCreate, SyscallError } from "../sys/bpf.ts";
import {
  BPF_ATTACH_TYPE,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_HW_MODE,
  XDP_FLAGS_REPLACE,
  XDP_FLAGS_SKB_MODE,
  XDP_FLAGS_UPDATE_IF_NOEXIST,
} from "../uapi.ts";
import { AttachError, Link } from "./link.ts";
import {
  describeInterface,
  type InterfaceTarget,
  inTargetNetns,
  ownProgramFd,
  resolveIfindex,
  targetGone,
} from "./target.ts";

/** generic: the kernel's skb path (any driver); driver: native XDP; offload: the NIC. */
export type XdpMode = "auto" | "generic" | "driver" | "offload";

export interface XdpOptions extends InterfaceTarget {
  /** Default "auto": native when the driver has it, generic otherwise (the kernel decides). */
  mode?: XdpMode;
  /** Default "auto": a bpf_link, netlink when the kernel has no XDP links. */
  method?: "auto" | "link" | "netlink";
}

const MODE_FLAGS: Record<XdpMode, number> = {
  auto: 0,
  generic: XDP_FLAGS_SKB_MODE,
  driver: XDP_FLAGS_DRV_MODE,
  offload: XDP_FLAGS_HW_MODE,
};

export function attachXdp(progFd: number, program: string, opts: XdpOptions): Link {
  const mode = opts.mode ?? "auto";
  const flags = MODE_FLAGS[mode];
  if (flags === undefined)
    throw new AttachError(`XDP mode '${mode}' is not one of auto, generic, driver, offload`);
  const method = opts.method ?? "auto";
  return inTargetNetns(opts, () => {
    const ifindex = resolveIfindex(opts);
    const target = describeInterface(opts, ifindex);
    if (method !== "netlink") {
      try {
        const fd = linkCreate(
          { prog_fd: progFd, target_fd: ifindex, attach_type: BPF_ATTACH_TYPE.BPF_XDP, flags },
          `XDP on ${target}`,
        );
        return new Link({ fd, kind: "xdp", program, target, isBpfLink: true });
      } catch (e) {
        // EINVAL: LINK_CREATE does not know BPF_XDP (before 5.9). Anything else (EBUSY:
        // a netlink-attached program is there; EOPNOTSUPP: no native XDP) is the answer.
        if (method === "link" || !(e instanceof SyscallError) || e.code !== "EINVAL")
          throw explain(e, target, mode);
      }
    }
    return attachXdpNetlink(progFd, program, opts, ifindex, flags, target);
  });
}

function attachXdpNetlink(
  progFd: number,
  program: string,
  opts: XdpOptions,
  ifindex: number,
  modeFlags: number,
  target: string,
): Link {
  const own = ownProgramFd(progFd);
  try {
    withNetlink((c) =>
      setLinkXdp(c, { ifindex, fd: own, flags: modeFlags | XDP_FLAGS_UPDATE_IF_NOEXIST }, `XDP on ${target}`),
    );
  } catch (e) {
    closeFd(own);
    throw explain(e, target, "netlink");
  }
  const detach = () => {
    try {
      inTargetNetns(opts, () =>
        withNetlink((c) =>
          setLinkXdp(
            c,
            { ifindex, fd: -1, flags: modeFlags | XDP_FLAGS_REPLACE, expectedFd: own },
            `XDP off ${target}`,
          ),
        ),
      );
    } catch (e) {
      // The interface or its namespace is gone, or someone replaced our program: nothing of ours is left.
      const code = (e as { code?: string }).code;
      if (!targetGone(e) && code !== "EEXIST") throw e;
    }
  };
  return new Link({
    fd: -1,
    kind: "xdp",
    program,
    target,
    isBpfLink: false,
    method: "netlink",
    owned: [own],
    detach,
  });
}

function explain(e: unknown, target: string, mode: string): unknown {
  const code = (e as { code?: string }).code;
  if (code === "EBUSY" || code === "EEXIST")
    return new AttachError(
      `XDP on ${target}: another XDP program is already attached (${code}); detach it first (ip link set dev IFACE xdp off)`,
    );
  if (code === "EOPNOTSUPP" && mode === "driver")
    return new AttachError(`XDP on ${target}: the driver has no native XDP; use mode "generic"`);
  return e;
}
