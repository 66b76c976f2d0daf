// attach(program): picks the attach method from the program's SEC() kind, through one
// table (ATTACHERS) with an entry per kind: adding a program type is one file in
// src/link plus one line here.
import type { ProgramSpec, ProgramTypeInfo } from "../spec.ts";
import type { FeatureProbes } from "../sys/features.ts";
import { attachCgroup } from "./cgroup.ts";
import { attachIter, type IterOptions } from "./iter.ts";
import { attachKprobe, attachKprobeMulti, parseKprobeTarget } from "./kprobe.ts";
import { AttachError, type Link } from "./link.ts";
import { attachNetns } from "./netns.ts";
import { attachPerfSampling, type PerfSamplingOptions } from "./perf-sample.ts";
import { attachRawTracepoint } from "./raw-tracepoint.ts";
import { attachSocketFilter, type SocketLike } from "./socket-filter.ts";
import { attachSockmap } from "./sockmap.ts";
import { attachTcFilter, type TcDirection } from "./tc.ts";
import { attachTcx } from "./tcx.ts";
import { attachTracepoint } from "./tracepoint.ts";
import { attachTracing } from "./tracing.ts";
import { attachUprobe, parseUprobeTarget } from "./uprobe.ts";
import { attachXdp, type XdpMode } from "./xdp.ts";

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
  /** xdp, tc, tcx: the interface (name or index). */
  iface?: string | number;
  /** xdp, tc, tcx, sk_lookup, flow_dissector: the network namespace (/run/netns/NAME, /proc/PID/ns/net). */
  netns?: string;
  /** SEC("tc") / SEC("classifier"): the hook (default ingress); tc/ingress and tc/egress carry it. */
  direction?: TcDirection;
  /** xdp: "generic", "driver", "offload" or "auto" (default: the kernel picks). */
  mode?: XdpMode;
  /**
   * The older way instead of a bpf_link: "netlink" (xdp, tc), "prog_attach" (cgroup,
   * sockmap). "link" / "tcx" refuse any fallback. Default "auto": a bpf_link when the
   * kernel has one for this hook, the older way otherwise.
   */
  method?: "auto" | "link" | "tcx" | "netlink" | "prog_attach";
  /** tc (cls_bpf): filter priority and handle (default: the kernel picks). */
  priority?: number;
  handle?: number;
  /** cgroup programs: the cgroup v2 directory (absolute, or relative to the cgroup2 mount). */
  cgroup?: string;
  /** socket filters: a socket fd, or a bound Node socket. */
  socket?: SocketLike;
  /** sk_msg / sk_skb: the sockmap or sockhash (its fd); iter/bpf_map_elem: the map to walk. */
  mapFd?: number;
  mapName?: string;
  /** iter/task and friends: only this thread (pid narrows to a process). */
  tid?: number;
  /** iter/cgroup: the cgroup to walk and the order. */
  iterCgroup?: string;
  cgroupOrder?: IterOptions["cgroupOrder"];
  /** perf_event: the event, its rate and the CPUs. */
  perf?: PerfSamplingOptions;
  /** Where feature probes are answered and kept (a Program passes its load's). */
  features?: FeatureProbes;
}

/** attach() options of XDP programs (SEC("xdp"), SEC("xdp.frags")). */
export interface XdpAttachOptions {
  iface: string | number;
  netns?: string;
  mode?: XdpMode;
  method?: "auto" | "link" | "netlink";
}

/** attach() options of tcx/tc programs (SEC("tc/ingress"), SEC("tcx/egress"), SEC("tc")). */
export interface TcAttachOptions {
  iface: string | number;
  netns?: string;
  /** Only SEC("tc")/SEC("classifier"): the hook; the others carry it in SEC(). */
  direction?: TcDirection;
  method?: "auto" | "tcx" | "netlink";
  priority?: number;
  handle?: number;
}

/** attach() options of cgroup programs (cgroup_skb/*, cgroup/*, sockops). */
export interface CgroupAttachOptions {
  cgroup: string;
  method?: "auto" | "link" | "prog_attach";
}

/** attach() options of socket filters (SEC("socket")). */
export interface SocketAttachOptions {
  socket: SocketLike;
}

/** attach() options of sk_lookup and flow_dissector programs. */
export interface NetnsAttachOptions {
  netns?: string;
}

/** attach() options of iterators (SEC("iter/<target>")). */
export interface IterAttachOptions {
  mapFd?: number;
  tid?: number;
  pid?: number;
  iterCgroup?: string;
  cgroupOrder?: IterOptions["cgroupOrder"];
}

/** attach() options of perf_event programs. */
export interface PerfEventAttachOptions {
  perf?: PerfSamplingOptions;
}

/** attach() options of sk_msg / sk_skb programs. */
export interface SockmapAttachOptions {
  mapFd: number;
  mapName?: string;
  method?: "auto" | "link" | "prog_attach";
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
  xdp: XdpAttachOptions;
  tc: TcAttachOptions;
  tcx: TcAttachOptions;
  cgroup: CgroupAttachOptions;
  socket: SocketAttachOptions;
  sk_lookup: NetnsAttachOptions;
  flow_dissector: NetnsAttachOptions;
  iter: IterAttachOptions;
  perf_event: PerfEventAttachOptions;
  sockmap: SockmapAttachOptions;
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

function need<T>(v: T | undefined, spec: ProgramSpec, what: string): T {
  if (v === undefined)
    throw new AttachError(
      `program '${spec.name}' (SEC("${spec.section}")) attaches to ${what}; none was given`,
    );
  return v;
}

/** Only the listed values of `method` reach an attacher; others are refused by name. */
function methodOf<M extends string>(
  spec: ProgramSpec,
  opts: AttachOptions,
  allowed: readonly M[],
): M | undefined {
  if (opts.method === undefined || opts.method === "auto") return undefined;
  if ((allowed as readonly string[]).includes(opts.method)) return opts.method as M;
  throw new AttachError(
    `program '${spec.name}' (SEC("${spec.section}")): method '${opts.method}' does not apply; use ${["auto", ...allowed].join(", ")}`,
  );
}

const xdp: Attacher = (fd, spec, opts) =>
  attachXdp(fd, spec.name, {
    iface: need(opts.iface, spec, "a network interface"),
    netns: opts.netns,
    mode: opts.mode,
    method: methodOf(spec, opts, ["link", "netlink"] as const),
  });

const tcx: Attacher = (fd, spec, opts) => {
  const direction: TcDirection = spec.section.endsWith("/egress") ? "egress" : "ingress";
  if (opts.direction !== undefined && opts.direction !== direction)
    throw new AttachError(
      `program '${spec.name}' (SEC("${spec.section}")) is a ${direction} program; it cannot attach to ${opts.direction}`,
    );
  return attachTcx(fd, spec.name, {
    iface: need(opts.iface, spec, "a network interface"),
    netns: opts.netns,
    direction,
    method: methodOf(spec, opts, ["tcx", "netlink"] as const),
  });
};

const tc: Attacher = (fd, spec, opts) => {
  const iface = need(opts.iface, spec, "a network interface");
  const direction = opts.direction ?? "ingress";
  // SEC("tc") carries no hook: cls_bpf unless the caller asks for a tcx link.
  if (methodOf(spec, opts, ["tcx", "netlink"] as const) === "tcx")
    return attachTcx(fd, spec.name, { iface, netns: opts.netns, direction, method: "tcx" });
  return attachTcFilter(fd, spec.name, {
    iface,
    netns: opts.netns,
    direction,
    priority: opts.priority,
    handle: opts.handle,
  });
};

const cgroup: Attacher = (fd, spec, opts) =>
  attachCgroup(fd, spec.name, spec.expectedAttachType, {
    cgroup: need(opts.cgroup, spec, "a cgroup"),
    method: methodOf(spec, opts, ["link", "prog_attach"] as const),
  });

const netns: Attacher = (fd, spec, opts) =>
  attachNetns(fd, spec.name, spec.attach as "sk_lookup", spec.expectedAttachType, { netns: opts.netns });

const tracing: Attacher = (fd, spec) =>
  attachTracing(fd, spec.name, spec.attach as "tp_btf", spec.expectedAttachType, spec.attachTo);

const ATTACHERS: Partial<Record<ProgramTypeInfo["attach"], Attacher>> = {
  tracepoint: (fd, spec, opts) =>
    attachTracepoint(fd, spec.name, targetOf(spec, opts), opts.cookie, opts.features),
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
  xdp,
  tcx,
  tc,
  cgroup,
  socket: (fd, spec, opts) => attachSocketFilter(fd, spec.name, need(opts.socket, spec, "a socket")),
  sk_lookup: netns,
  flow_dissector: netns,
  iter: (fd, spec, opts) =>
    attachIter(fd, spec.name, targetOf(spec, opts), {
      mapFd: opts.mapFd,
      tid: opts.tid,
      pid: opts.pid,
      cgroup: opts.iterCgroup,
      cgroupOrder: opts.cgroupOrder,
    }),
  perf_event: (fd, spec, opts) => attachPerfSampling(fd, spec.name, opts.perf),
  sockmap: (fd, spec, opts) =>
    attachSockmap(fd, spec.name, spec.expectedAttachType, {
      mapFd: need(opts.mapFd, spec, "a sockmap or sockhash"),
      mapName: opts.mapName,
      method: methodOf(spec, opts, ["link", "prog_attach"] as const),
    }),
};

/**
 * What an attach of this program needs from the caller, or undefined when SEC() says
 * it all (for messages such as `tsbpf load`'s; library wording, no CLI flags).
 */
export function attachNeeds(spec: ProgramSpec): "interface" | "cgroup" | "socket" | "map" | undefined {
  switch (spec.attach) {
    case "xdp":
    case "tc":
    case "tcx":
      return "interface";
    case "cgroup":
      return "cgroup";
    case "socket":
      return "socket";
    case "sockmap":
      return "map";
    case "iter":
      return ["bpf_map_elem", "bpf_sk_storage_map", "sockmap"].includes(spec.attachTo) ? "map" : undefined;
    default:
      return undefined;
  }
}

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
