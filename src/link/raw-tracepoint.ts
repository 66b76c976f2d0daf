// Raw tracepoints: BPF_RAW_TRACEPOINT_OPEN with the tracepoint's name (no category),
// which returns a bpf_link fd.
import { rawTracepointOpen, SyscallError } from "../sys/bpf.ts";
import { AttachError, Link } from "./link.ts";

export function attachRawTracepoint(progFd: number, program: string, name: string): Link {
  if (!name)
    throw new AttachError(`program '${program}': raw tracepoint name is empty; use SEC("raw_tp/<name>")`);
  try {
    const fd = rawTracepointOpen(name, progFd);
    return new Link({ fd, kind: "raw_tracepoint", program, target: name, isBpfLink: true });
  } catch (e) {
    if (e instanceof SyscallError && e.code === "ENOENT")
      throw new AttachError(`no such raw tracepoint ${name}`);
    throw e;
  }
}
