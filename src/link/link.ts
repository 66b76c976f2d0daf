// A Link: an attached program. Closing the link fd detaches it (bpf_link_release);
// for the older perf-event ioctl attachment, closing the perf event fd does.
import { TsbpfError } from "../errors.ts";
import { closeFd, objPin } from "../sys/bpf.ts";

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
  | "uretprobe";

export class Link {
  /** The bpf_link fd, or the perf event fd for ioctl-attached tracepoints (not pinnable). */
  readonly fd: number;
  readonly kind: AttachKind;
  readonly program: string;
  /** "sched/sched_process_exec", "sys_enter", "do_exit" */
  readonly target: string;
  /** True when fd is a real bpf_link (BPF_LINK_CREATE / RAW_TRACEPOINT_OPEN). */
  readonly isBpfLink: boolean;
  /** Other fds to close with the link (the perf event under a perf link). */
  private readonly owned: number[];
  private closed = false;

  constructor(init: {
    fd: number;
    kind: AttachKind;
    program: string;
    target: string;
    isBpfLink: boolean;
    owned?: number[];
  }) {
    this.fd = init.fd;
    this.kind = init.kind;
    this.program = init.program;
    this.target = init.target;
    this.isBpfLink = init.isBpfLink;
    this.owned = init.owned ?? [];
  }

  /** BPF_OBJ_PIN the link (it then outlives this process until the pin is removed). */
  pin(path: string): void {
    if (this.closed) throw new AttachError(`link of program '${this.program}' is closed`);
    if (!this.isBpfLink) {
      throw new AttachError(
        `link of program '${this.program}' to ${this.target} is a perf event attachment (no BPF_LINK_CREATE on this kernel) and cannot be pinned`,
      );
    }
    objPin(this.fd, path);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Detach: close the link fd (and the perf event fd). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: unknown;
    for (const fd of [this.fd, ...this.owned]) {
      try {
        closeFd(fd);
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
