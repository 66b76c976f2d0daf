// Programs attached to a network namespace: sk_lookup (5.9+; picks the socket for a new
// connection or datagram before the kernel's own lookup) and flow_dissector. Both go
// through BPF_LINK_CREATE with the fd of the namespace (/proc/self/ns/net by default).
import { closeFd, linkCreate } from "../sys/bpf.ts";
import { openPath } from "../sys/socket.ts";
import { type AttachKind, Link } from "./link.ts";

export interface NetnsOptions {
  /** The namespace: /run/netns/NAME, /proc/PID/ns/net; default this thread's. */
  netns?: string;
}

export function attachNetns(
  progFd: number,
  program: string,
  kind: Extract<AttachKind, "sk_lookup" | "flow_dissector">,
  attachType: number,
  opts: NetnsOptions = {},
): Link {
  const path = opts.netns ?? "/proc/thread-self/ns/net";
  const ns = openPath(path, `network namespace ${path}`);
  try {
    const fd = linkCreate({ prog_fd: progFd, target_fd: ns, attach_type: attachType }, `${kind} in ${path}`);
    return new Link({ fd, kind, program, target: opts.netns ?? "this network namespace", isBpfLink: true });
  } finally {
    closeFd(ns);
  }
}
