// kprobe / kretprobe through the kprobe PMU (perf_event_open with kprobe_func in config1
// and the offset in config2, Linux 4.17+), then the program on that perf event; and
// kprobe.multi / kretprobe.multi: one BPF_LINK_CREATE (BPF_TRACE_KPROBE_MULTI) over
// many functions (Linux 5.18+ built with CONFIG_FPROBE), as libbpf's SEC("kprobe.multi/PATTERN").
import { readFileSync } from "node:fs";
import { BPF_F_KPROBE_MULTI_RETURN, linkCreateKprobeMulti, SyscallError } from "../sys/bpf.ts";
import { perfEventOpenProbe } from "../sys/perf.ts";
import { AttachError, Link, NotSupportedError } from "./link.ts";
import { attachPerfEventFd } from "./perf-event.ts";
import { probePmu } from "./probe-pmu.ts";
import { tracefsRoot } from "./tracepoint.ts";

export interface KprobeTarget {
  /** Kernel function name (a kallsyms symbol). */
  func: string;
  /** Byte offset into the function. */
  offset?: number;
  retprobe?: boolean;
  cookie?: bigint;
}

/** "do_exit" or "do_exit+0x10" → function and offset (libbpf's SEC("kprobe/FUNC[+OFF]")). */
export function parseKprobeTarget(s: string): { func: string; offset: number } {
  const m = /^([^+\s]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(s);
  if (!m)
    throw new AttachError(`kprobe target '${s}' must be FUNC or FUNC+OFFSET, e.g. do_exit or do_exit+0x10`);
  return { func: m[1] as string, offset: m[2] ? Number(m[2]) : 0 };
}

export function attachKprobe(progFd: number, program: string, t: KprobeTarget): Link {
  const kind = t.retprobe ? "kretprobe" : "kprobe";
  if (!t.func)
    throw new AttachError(
      `program '${program}': a ${kind} needs a kernel function, e.g. SEC("${kind}/do_exit")`,
    );
  const pmu = probePmu("kprobe");
  if (!pmu)
    throw new NotSupportedError(
      "kprobe",
      `program '${program}': kprobes are not available on this kernel (no kprobe PMU in /sys/bus/event_source/devices: CONFIG_KPROBES is off, or Linux is older than 4.17); use a tracepoint, raw_tracepoint or tp_btf program instead`,
    );
  const offset = t.offset ?? 0;
  const target = offset ? `${t.func}+0x${offset.toString(16)}` : t.func;
  let pfd: number;
  try {
    pfd = perfEventOpenProbe(
      { type: pmu.type, config: t.retprobe ? 2 ** pmu.retprobeBit : 0, name: t.func, offset },
      -1,
      0,
      `${kind} ${target}`,
    );
  } catch (e) {
    if (e instanceof SyscallError && e.code === "EILSEQ")
      throw new AttachError(
        `program '${program}': cannot ${kind} ${target}: offset ${offset} is not at an instruction boundary of ${t.func}`,
        { cause: e },
      );
    if (
      e instanceof SyscallError &&
      (e.code === "ENOENT" || e.code === "EINVAL" || e.code === "EADDRNOTAVAIL")
    )
      throw new AttachError(
        `program '${program}': cannot ${kind} ${target} (${e.code}): no such kernel function or offset, or the function cannot be probed (see /proc/kallsyms and /sys/kernel/debug/kprobes/blacklist)`,
        { cause: e },
      );
    throw e;
  }
  return attachPerfEventFd(progFd, pfd, { kind, program, target, cookie: t.cookie });
}

/** Glob match of libbpf's kprobe.multi patterns: '*' any run, '?' one character. */
export function globMatch(pattern: string, s: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === s[i])) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else return false;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * The functions a kprobe.multi pattern names: itself when it has no wildcard, else every
 * match in tracefs' available_filter_functions (the functions fprobe can attach to),
 * without duplicates (static functions of the same name appear once per copy).
 */
export function kprobeMultiSymbols(pattern: string, available?: string): string[] {
  if (!/[*?]/.test(pattern)) return [pattern];
  const text = available ?? readFileSync(`${tracefsRoot()}/available_filter_functions`, "utf8");
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.split(/\s/, 1)[0] as string;
    // "__ftrace_invalid_address___NNN" entries stand for functions ftrace lost track of.
    if (name && !name.startsWith("__ftrace_invalid_address__") && globMatch(pattern, name)) out.add(name);
  }
  return [...out].sort();
}

export interface KprobeMultiTarget {
  /** A pattern with '*'/'?' (or one name), or the function names themselves. */
  pattern?: string;
  symbols?: string[];
  retprobe?: boolean;
  cookies?: bigint[];
}

export function attachKprobeMulti(progFd: number, program: string, t: KprobeMultiTarget): Link {
  const kind = t.retprobe ? "kretprobe_multi" : "kprobe_multi";
  const sec = t.retprobe ? "kretprobe.multi" : "kprobe.multi";
  const syms = t.symbols ?? (t.pattern ? kprobeMultiSymbols(t.pattern) : []);
  const target = t.pattern ?? syms.join(",");
  if (syms.length === 0)
    throw new AttachError(
      t.pattern
        ? `program '${program}': no kernel function matches ${sec} pattern '${t.pattern}' (see available_filter_functions in tracefs)`
        : `program '${program}': a ${sec} program needs functions, e.g. SEC("${sec}/do_exit") or SEC("${sec}/vfs_*")`,
    );
  try {
    const fd = linkCreateKprobeMulti(
      { prog_fd: progFd, syms, flags: t.retprobe ? BPF_F_KPROBE_MULTI_RETURN : 0, cookies: t.cookies },
      `${sec} ${target}`,
    );
    return new Link({ fd, kind, program, target, isBpfLink: true });
  } catch (e) {
    if (e instanceof SyscallError && (e.code === "EOPNOTSUPP" || e.code === "ENOTSUPP"))
      throw new NotSupportedError(
        "kprobe_multi",
        `program '${program}': ${sec} links are not supported by this kernel (they need Linux 5.18+ built with CONFIG_FPROBE); use SEC("${t.retprobe ? "kretprobe" : "kprobe"}/FUNC") per function instead`,
      );
    if (e instanceof SyscallError && (e.code === "ENOENT" || e.code === "ESRCH" || e.code === "EINVAL"))
      throw new AttachError(
        `program '${program}': cannot attach ${sec} to ${syms.length} function(s) (${e.code}): a name is not a kernel function fprobe can attach to (see available_filter_functions in tracefs), or the kernel lacks kprobe.multi links (Linux 5.18+)`,
        { cause: e },
      );
    throw e;
  }
}
