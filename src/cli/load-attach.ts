// `tsbpf load`'s attach options: what a program's SEC() name cannot say (the binary of a
// bare SEC("uprobe"), a process to filter on, a target for a bare SEC("kprobe")) comes
// from the command line, and an attach failure names the option that would supply it or
// suggests loading without attaching. One entry per attach kind; other kinds add theirs.
import type { AttachOptions } from "../link/attach.ts";
import type { ProgramSpec } from "../spec.ts";

/** The options `tsbpf load` declares for attaching (parseArgs shapes). */
export const LOAD_ATTACH_OPTIONS = {
  target: { type: "string" },
  binary: { type: "string" },
  symbol: { type: "string" },
  pid: { type: "string" },
} as const;

export const LOAD_ATTACH_HELP = `      --target T    where programs whose SEC() names no target attach: a kernel
                    function (kprobe, ksyscall: the syscall), a glob (kprobe.multi),
                    a tracepoint category/name, PATH:FUNC (uprobe)
      --binary PATH uprobe/uretprobe programs without a PATH in SEC(): the executable
                    or library ("libc.so.6" and command names are searched)
      --symbol FUNC the function those uprobes attach to (default: SEC()'s)
      --pid PID     uprobes fire only in this process`;

export interface LoadAttachValues {
  target?: string;
  binary?: string;
  symbol?: string;
  pid?: string;
}

const UPROBE_KINDS = new Set(["uprobe", "uretprobe"]);

/** attach() options for one program from the command line (only what its SEC() leaves open). */
export function attachOptionsFor(spec: ProgramSpec, v: LoadAttachValues): AttachOptions {
  const o: AttachOptions = {};
  if (v.target !== undefined && !spec.attachTo) o.target = v.target;
  if (UPROBE_KINDS.has(spec.attach)) {
    if (v.binary !== undefined) o.binary = v.binary;
    if (v.symbol !== undefined) o.symbol = v.symbol;
    if (v.pid !== undefined) o.pid = Number(v.pid);
  }
  return o;
}

/** What to add to an attach error of this program: the options that would help, and --no-attach. */
export function attachHint(spec: ProgramSpec): string {
  const sec = `SEC("${spec.section}")`;
  if (UPROBE_KINDS.has(spec.attach) && !spec.attachTo)
    return `${sec} names no binary: give --binary PATH --symbol FUNC, or load without attaching (--no-attach)`;
  if (!spec.attachTo) return `${sec} names no target: give --target, or load without attaching (--no-attach)`;
  return "to load without attaching, add --no-attach";
}
