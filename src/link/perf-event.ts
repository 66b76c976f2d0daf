// A BPF program on an opened perf event (tracepoint, kprobe, uprobe): BPF_LINK_CREATE
// with attach_type BPF_PERF_EVENT (5.15+; a bpf_link that can be pinned and carries a
// bpf_cookie), else the older PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE pair on
// kernels without perf links (probed once per FeatureProbes).
import { closeFd, linkCreate } from "../sys/bpf.ts";
import { FeatureProbes } from "../sys/features.ts";
import { ioctl, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF } from "../sys/perf.ts";
import { BPF_ATTACH_TYPE } from "../uapi.ts";
import { AttachError, type AttachKind, Link } from "./link.ts";

export interface PerfLinkInit {
  kind: AttachKind;
  program: string;
  target: string;
  /** bpf_cookie the program reads with bpf_get_attach_cookie() (perf links only). */
  cookie?: bigint;
  /** Where the perf-link probe is answered and kept (default: probed for this call). */
  features?: FeatureProbes;
}

/** Attaches `progFd` to the perf event `pfd`; the Link owns `pfd` (closed on failure too). */
export function attachPerfEventFd(progFd: number, pfd: number, init: PerfLinkInit): Link {
  const what = `${init.kind} ${init.target}`;
  try {
    if ((init.features ?? new FeatureProbes()).has("link_create_perf_event")) {
      const lfd = linkCreate(
        {
          prog_fd: progFd,
          target_fd: pfd,
          attach_type: BPF_ATTACH_TYPE.BPF_PERF_EVENT,
          bpf_cookie: init.cookie,
        },
        what,
      );
      return new Link({ ...init, fd: lfd, isBpfLink: true, owned: [pfd] });
    }
    if (init.cookie !== undefined)
      throw new AttachError(
        `${what}: a bpf_cookie needs perf links (BPF_LINK_CREATE on perf events, Linux 5.15+)`,
      );
    ioctl(pfd, PERF_EVENT_IOC_SET_BPF, progFd, what);
    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0, what);
    return new Link({ ...init, fd: pfd, isBpfLink: false });
  } catch (e) {
    closeFd(pfd);
    throw e;
  }
}
