// A Link: an attached program. Closing the link fd detaches it (bpf_link_release);
// for the older attachments that are not bpf_links (a perf-event ioctl, IFLA_XDP over
// netlink, a cls_bpf filter, BPF_PROG_ATTACH, SO_ATTACH_BPF) the link holds the detach
// step instead, and cannot be pinned.
import { mkdirSync } from "node:fs";
import { TsbpfError } from "../errors.ts";
import { closeFd, objPin } from "../sys/bpf.ts";

/** A program could not be attached: no such tracepoint or function, a kind the kernel lacks, ... */
export class AttachError extends TsbpfError {}

/**
 * The running kernel lacks what this attachment needs (a PMU, a link type, a config
 * option). `feature` names it; the message says what the kernel would need.
 */
export class NotSupportedError extends AttachError {
  readonly feature: string;
  constructor(feature: string, message: string) {
    super(message);
    this.feature = feature;
  }
}

/** How a Link is attached (the program's SEC() kind). */
export type AttachKind =
  | "tracepoint"
  | "raw_tracepoint"
  | "tp_btf"
  | "fentry"
  | "fexit"
  | "fmod_ret"
  | "lsm"
  | "kprobe"
  | "kretprobe"
  | "kprobe_multi"
  | "kretprobe_multi"
  | "uprobe"
  | "uretprobe"
  | "xdp"
  | "tcx"
  | "tc"
  | "cgroup"
  | "socket"
  | "sk_lookup"
  | "flow_dissector"
  | "iter"
  | "perf_event"
  | "sockmap";

/**
 * How the kernel holds the attachment: a bpf_link (BPF_LINK_CREATE and friends), or one
 * of the older ways that live on the target instead.
 */
export type AttachMethod = "bpf_link" | "perf_ioctl" | "netlink" | "prog_attach" | "setsockopt";

export interface LinkInit {
  /** The bpf_link fd; the perf event fd for ioctl attachment; -1 when there is no fd. */
  fd: number;
  kind: AttachKind;
  program: string;
  /** "sched/sched_process_exec", "veth0 (ifindex 5)", "/sys/fs/cgroup/x", "cpu-clock" */
  target: string;
  isBpfLink: boolean;
  method?: AttachMethod;
  /** Other fds to close with the link (the perf event under a perf link). */
  owned?: number[];
  /** More bpf_link fds of the same attachment (one per CPU for perf_event). */
  more?: number[];
  /** Undoes a non-bpf_link attachment; runs before the fds are closed. */
  detach?: () => void;
  /** File names for the fds when pinned as a directory (default: cpu<N> by position). */
  pinNames?: string[];
}

/** An attached program. Closing it detaches the program (pin() keeps it attached beyond the process). */
export class Link {
  /** The bpf_link fd, or the perf event fd for ioctl-attached tracepoints (not pinnable); -1 when none. */
  readonly fd: number;
  readonly kind: AttachKind;
  readonly program: string;
  readonly target: string;
  /** True when fd is a real bpf_link (BPF_LINK_CREATE / RAW_TRACEPOINT_OPEN). */
  readonly isBpfLink: boolean;
  readonly method: AttachMethod;
  /** Every bpf_link fd of this attachment: fd first, then one per extra CPU. */
  readonly fds: readonly number[];
  private readonly owned: number[];
  private readonly detachFn: (() => void) | undefined;
  private readonly pinNames: string[] | undefined;
  private closed = false;

  constructor(init: LinkInit) {
    this.fd = init.fd;
    this.kind = init.kind;
    this.program = init.program;
    this.target = init.target;
    this.isBpfLink = init.isBpfLink;
    this.method = init.method ?? (init.isBpfLink ? "bpf_link" : "perf_ioctl");
    this.fds = init.fd >= 0 ? [init.fd, ...(init.more ?? [])] : [];
    this.owned = init.owned ?? [];
    this.detachFn = init.detach;
    this.pinNames = init.pinNames;
  }

  /**
   * BPF_OBJ_PIN the link (it then outlives this process until the pin is removed). An
   * attachment made of one link per CPU is pinned as a directory: path/cpu<N>.
   */
  pin(path: string): void {
    if (this.closed) throw new AttachError(`link of program '${this.program}' is closed`);
    if (!this.isBpfLink) {
      const why =
        this.method === "perf_ioctl"
          ? "a perf event attachment (no BPF_LINK_CREATE on this kernel)"
          : `attached with ${this.method}, not a bpf_link`;
      throw new AttachError(
        `link of program '${this.program}' to ${this.target} is ${why} and cannot be pinned`,
      );
    }
    if (this.fds.length === 1) {
      objPin(this.fd, path);
      return;
    }
    mkdirSync(path);
    this.fds.forEach((fd, i) => {
      objPin(fd, `${path}/${this.pinNames?.[i] ?? `cpu${i}`}`);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Detach: undo the attachment, close the link fds (and the perf event fds). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: unknown;
    try {
      this.detachFn?.();
    } catch (e) {
      first = e;
    }
    for (const fd of [...this.fds, ...this.owned]) {
      try {
        closeFd(fd);
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  /** Same as close(): `using link = prog.attach()` detaches at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
