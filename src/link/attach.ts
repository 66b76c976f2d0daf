// attach(program): picks the attach method from the program's SEC() kind, through one
// table (ATTACHERS) with an entry per kind: adding a program type is one file in
// src/link plus one line here.
import type { ProgramSpec, ProgramTypeInfo } from "../spec.ts";
import { attachKprobe, attachKprobeMulti, parseKprobeTarget } from "./kprobe.ts";
import { AttachError, type Link } from "./link.ts";
import { attachRawTracepoint } from "./raw-tracepoint.ts";
import { attachTracepoint } from "./tracepoint.ts";
import { attachTracing } from "./tracing.ts";
import { attachUprobe, parseUprobeTarget } from "./uprobe.ts";

/** Options of attach() that any kind of program accepts (each kind reads the ones it knows). */
export interface AttachOptions {
  /**
   * Override the target from SEC(): "sched/sched_process_exec" (tracepoint), a raw
   * tracepoint name, "FUNC[+OFF]" (kprobe, ksyscall: the syscall name), a pattern
   * (kprobe.multi), "PATH:FUNC[+OFF]" (uprobe).
   */
  target?: string;
  /** uprobe: the executable or shared library (a path, a name on PATH, or "libc.so.6"). */
  binary?: string;
  /** uprobe: the function symbol in `binary`; kprobe: the kernel function. */
  symbol?: string;
  /** kprobe: bytes into the function; uprobe: bytes past `symbol`, or the file offset without one. */
  offset?: number;
  /** uprobe: only this process hits the probe. */
  pid?: number;
  /** bpf_cookie (bpf_get_attach_cookie()): perf-event based links. */
  cookie?: bigint;
}

/** attach() options of a tracepoint program (SEC("tracepoint/<category>/<name>")). */
export interface TracepointAttachOptions {
  /** Another tracepoint than SEC() names, written category/name: "sched/sched_process_exec". */
  target?: string;
  cookie?: bigint;
}

/** attach() options of a raw tracepoint program (SEC("raw_tp/<name>")). */
export interface RawTracepointAttachOptions {
  /** Another raw tracepoint than SEC() names: "sys_enter". */
  target?: string;
}

/**
 * attach() options of programs whose target was fixed at load (attach_btf_id): tp_btf,
 * fentry, fexit, fmod_ret, lsm. There is nothing to choose when attaching.
 */
export type BtfAttachOptions = Record<string, never>;

/** attach() options of kprobe/kretprobe (SEC("kprobe/FUNC[+OFF]")) and ksyscall programs. */
export interface KprobeAttachOptions {
  /** Another function than SEC() names: "FUNC" or "FUNC+OFF" (ksyscall: the syscall's name). */
  target?: string;
  /** The kernel function (instead of target). */
  symbol?: string;
  /** Bytes into the function. */
  offset?: number;
  cookie?: bigint;
}

/** attach() options of kprobe.multi/kretprobe.multi (SEC("kprobe.multi/PATTERN")). */
export interface KprobeMultiAttachOptions {
  /** Another glob than SEC() names ('*' and '?'), or one function. */
  target?: string;
  symbol?: string;
}

/** attach() options of uprobe/uretprobe (SEC("uprobe/PATH:FUNC[+OFF]") or SEC("uprobe")). */
export interface UprobeAttachOptions {
  /** "PATH:FUNC[+OFF]" or "PATH:OFFSET" instead of SEC()'s. */
  target?: string;
  /** Executable or library: a path, a command on PATH, or a library name ("libc.so.6"). */
  binary?: string;
  /** Function symbol in the binary (.symtab or .dynsym). */
  symbol?: string;
  /** Bytes past the symbol; without a symbol, the file offset. */
  offset?: number;
  /** Only this process hits the probe. */
  pid?: number;
  cookie?: bigint;
}

/**
 * attach() options by the program's attach kind (ProgramSpec.attach, from its SEC()
 * name). `Program<K>.attach()` takes `AttachOptionsFor<K>`, so the options a program
 * accepts follow from its kind; kinds not listed take AttachOptions.
 */
export interface AttachOptionsByKind {
  tracepoint: TracepointAttachOptions;
  raw_tracepoint: RawTracepointAttachOptions;
  tp_btf: BtfAttachOptions;
  fentry: BtfAttachOptions;
  fexit: BtfAttachOptions;
  fmod_ret: BtfAttachOptions;
  lsm: BtfAttachOptions;
  kprobe: KprobeAttachOptions;
  kretprobe: KprobeAttachOptions;
  ksyscall: KprobeAttachOptions;
  kretsyscall: KprobeAttachOptions;
  kprobe_multi: KprobeMultiAttachOptions;
  kretprobe_multi: KprobeMultiAttachOptions;
  uprobe: UprobeAttachOptions;
  uretprobe: UprobeAttachOptions;
}

/** The attach() options of a program of kind K (a union of them for a union of kinds). */
export type AttachOptionsFor<K extends ProgramSpec["attach"]> = K extends keyof AttachOptionsByKind
  ? AttachOptionsByKind[K]
  : AttachOptions;

type Attacher = (fd: number, spec: ProgramSpec, opts: AttachOptions) => Link;

/** Where the program attaches: the option, else what SEC() said after its prefix. */
const targetOf = (spec: ProgramSpec, opts: AttachOptions): string => opts.target ?? spec.attachTo;

function kprobe(retprobe: boolean): Attacher {
  return (fd, spec, opts) => {
    const t =
      opts.symbol !== undefined
        ? { func: opts.symbol, offset: 0 }
        : parseKprobeTarget(targetOf(spec, opts) || "");
    return attachKprobe(fd, spec.name, {
      ...t,
      offset: opts.offset ?? t.offset,
      retprobe,
      cookie: opts.cookie,
    });
  };
}

function ksyscall(retprobe: boolean): Attacher {
  // x86-64 kernels since 4.17 wrap each syscall in __x64_sys_NAME (taking pt_regs);
  // older or unwrapped kernels have sys_NAME (libbpf's ksyscall makes the same choice).
  return (fd, spec, opts) => {
    const name = opts.symbol ?? targetOf(spec, opts);
    if (!name)
      throw new AttachError(
        `program '${spec.name}': SEC("${spec.section}") names no syscall; use SEC("${retprobe ? "kretsyscall" : "ksyscall"}/<syscall>")`,
      );
    try {
      return attachKprobe(fd, spec.name, { func: `__x64_sys_${name}`, retprobe, cookie: opts.cookie });
    } catch (e) {
      if (e instanceof AttachError && e.constructor === AttachError)
        return attachKprobe(fd, spec.name, { func: `sys_${name}`, retprobe, cookie: opts.cookie });
      throw e;
    }
  };
}

function kprobeMulti(retprobe: boolean): Attacher {
  return (fd, spec, opts) =>
    attachKprobeMulti(fd, spec.name, {
      pattern: opts.symbol ?? targetOf(spec, opts),
      retprobe,
    });
}

function uprobe(retprobe: boolean): Attacher {
  return (fd, spec, opts) => {
    const fromSec = targetOf(spec, opts) ? parseUprobeTarget(targetOf(spec, opts)) : undefined;
    const binary = opts.binary ?? fromSec?.binary;
    const symbol = opts.symbol ?? fromSec?.symbol;
    const offset = opts.offset ?? (opts.symbol !== undefined ? 0 : fromSec?.offset);
    const kind = retprobe ? "uretprobe" : "uprobe";
    if (!binary || (symbol === undefined && offset === undefined))
      throw new AttachError(
        `program '${spec.name}': SEC("${spec.section}") does not say where to attach: a ${kind} needs a binary and a function (SEC("${kind}/PATH:FUNC"), or the binary and symbol attach options)`,
      );
    return attachUprobe(fd, spec.name, {
      binary,
      symbol,
      offset,
      pid: opts.pid,
      retprobe,
      cookie: opts.cookie,
    });
  };
}

const tracing: Attacher = (fd, spec) =>
  attachTracing(fd, spec.name, spec.attach as "tp_btf", spec.expectedAttachType, spec.attachTo);

const ATTACHERS: Partial<Record<ProgramTypeInfo["attach"], Attacher>> = {
  tracepoint: (fd, spec, opts) => attachTracepoint(fd, spec.name, targetOf(spec, opts), opts.cookie),
  raw_tracepoint: (fd, spec, opts) => attachRawTracepoint(fd, spec.name, targetOf(spec, opts)),
  tp_btf: tracing,
  fentry: tracing,
  fexit: tracing,
  fmod_ret: tracing,
  lsm: tracing,
  kprobe: kprobe(false),
  kretprobe: kprobe(true),
  ksyscall: ksyscall(false),
  kretsyscall: ksyscall(true),
  kprobe_multi: kprobeMulti(false),
  kretprobe_multi: kprobeMulti(true),
  uprobe: uprobe(false),
  uretprobe: uprobe(true),
};

/** True when `attach()` knows how to attach this kind of program. */
export function isAttachable(spec: ProgramSpec): boolean {
  return ATTACHERS[spec.attach] !== undefined;
}

export function attachProgram(fd: number, spec: ProgramSpec, opts: AttachOptions = {}): Link {
  const attacher = ATTACHERS[spec.attach];
  if (attacher) return attacher(fd, spec, opts);
  const name = spec.name;
  switch (spec.attach) {
    case "syscall":
      throw new AttachError(
        `program '${name}' (SEC("syscall")) is not attached to anything: run it with testRun()`,
      );
    case "usdt":
      throw new AttachError(
        `program '${name}' (SEC("${spec.section}")): tsbpf does not attach USDT probes yet; attach a uprobe at the probe's address instead`,
      );
    default:
      throw new AttachError(
        `program '${name}' (SEC("${spec.section}"), type ${spec.typeName}): tsbpf cannot attach this program type`,
      );
  }
}
