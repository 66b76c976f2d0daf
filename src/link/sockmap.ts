// sk_msg and sk_skb programs run on the sockets stored in a sockmap or sockhash: they
// are attached to the map. BPF_LINK_CREATE with the map fd gives a bpf_link (6.10+);
// before that, BPF_PROG_ATTACH with the map fd, undone by BPF_PROG_DETACH on close.
import { closeFd, linkCreate, progAttach, progDetach, SyscallError } from "../sys/bpf.ts";
import { Link } from "./link.ts";
import { ownProgramFd, targetGone } from "./target.ts";

export interface SockmapOptions {
  /** fd of the sockmap/sockhash. */
  mapFd: number;
  /** Name for messages ("map 'socks'"). */
  mapName?: string;
  method?: "auto" | "link" | "prog_attach";
}

export function attachSockmap(
  progFd: number,
  program: string,
  attachType: number,
  opts: SockmapOptions,
): Link {
  const target = opts.mapName ? `map '${opts.mapName}'` : `map fd ${opts.mapFd}`;
  const method = opts.method ?? "auto";
  if (method !== "prog_attach") {
    try {
      const fd = linkCreate(
        { prog_fd: progFd, target_fd: opts.mapFd, attach_type: attachType },
        `on ${target}`,
      );
      return new Link({ fd, kind: "sockmap", program, target, isBpfLink: true });
    } catch (e) {
      // EINVAL: no sockmap links before 6.10.
      if (method === "link" || !(e instanceof SyscallError) || e.code !== "EINVAL") throw e;
    }
  }
  const own = ownProgramFd(progFd);
  try {
    progAttach({ target_fd: opts.mapFd, attach_bpf_fd: own, attach_type: attachType }, `on ${target}`);
  } catch (e) {
    closeFd(own);
    throw e;
  }
  return new Link({
    fd: -1,
    kind: "sockmap",
    program,
    target,
    isBpfLink: false,
    method: "prog_attach",
    owned: [own],
    detach: () => {
      try {
        progDetach({ target_fd: opts.mapFd, attach_bpf_fd: own, attach_type: attachType }, `from ${target}`);
      } catch (e) {
        if (!targetGone(e) && (e as { code?: string }).code !== "EBADF") throw e;
      }
    },
  });
}
