// perf_event_open(2) and the perf ioctls, for attaching BPF programs to tracepoints.
// struct perf_event_attr layout from include/uapi/linux/perf_event.h
// (PERF_ATTR_SIZE_VER8 = 136 bytes; offsets checked with offsetof()).
import { SyscallError } from "./errors.ts";
import { addressOf, errno, ioctlRaw, SYS_perf_event_open, sysPerfEventOpen } from "./libc.ts";

/** enum perf_type_id */
export const PERF_TYPE_HARDWARE = 0;
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_TYPE_TRACEPOINT = 2;
export const PERF_TYPE_HW_CACHE = 3;
export const PERF_TYPE_RAW = 4;
export const PERF_TYPE_BREAKPOINT = 5;

/** enum perf_sw_ids (subset) */
export const PERF_COUNT_SW_CPU_CLOCK = 0;
export const PERF_COUNT_SW_BPF_OUTPUT = 10;

/** perf_event_sample_format (subset) */
export const PERF_SAMPLE_RAW = 1 << 10;

/** perf_event_open flags */
export const PERF_FLAG_FD_NO_GROUP = 1 << 0;
export const PERF_FLAG_FD_OUTPUT = 1 << 1;
export const PERF_FLAG_PID_CGROUP = 1 << 2;
export const PERF_FLAG_FD_CLOEXEC = 1 << 3;

/** ioctls: _IO('$', 0), _IO('$', 1), _IOW('$', 8, __u32) */
export const PERF_EVENT_IOC_ENABLE = 0x2400;
export const PERF_EVENT_IOC_DISABLE = 0x2401;
export const PERF_EVENT_IOC_SET_BPF = 0x40042408;

export const PERF_ATTR_SIZE = 136;

/** The flag bitfield of perf_event_attr (offset 40), bit positions per perf_event.h. */
const FLAG_BITS = {
  disabled: 0,
  inherit: 1,
  pinned: 2,
  exclusive: 3,
  exclude_user: 4,
  exclude_kernel: 5,
  exclude_hv: 6,
  exclude_idle: 7,
  mmap: 8,
  comm: 9,
  freq: 10,
  inherit_stat: 11,
  enable_on_exec: 12,
  task: 13,
  watermark: 14,
  precise_ip: 15, // 2 bits
  mmap_data: 17,
  sample_id_all: 18,
  exclude_host: 19,
  exclude_guest: 20,
  exclude_callchain_kernel: 21,
  exclude_callchain_user: 22,
  mmap2: 23,
  comm_exec: 24,
  use_clockid: 25,
  context_switch: 26,
  write_backward: 27,
  namespaces: 28,
  ksymbol: 29,
  bpf_event: 30,
  aux_output: 31,
} as const;

export type PerfFlag = keyof typeof FLAG_BITS;

export interface PerfEventAttr {
  type: number;
  config?: bigint | number;
  /** sample_period, or sample_freq when `freq` is set. */
  sample_period?: bigint | number;
  sample_freq?: bigint | number;
  sample_type?: bigint | number;
  read_format?: bigint | number;
  flags?: Partial<Record<PerfFlag, boolean>>;
  /** wakeup_events, or wakeup_watermark when `watermark` is set. */
  wakeup_events?: number;
  wakeup_watermark?: number;
  bp_type?: number;
  config1?: bigint | number;
  config2?: bigint | number;
  config3?: bigint | number;
}

/** Encode a perf_event_attr (136 bytes, size field set). */
export function encodePerfEventAttr(a: PerfEventAttr): Uint8Array {
  const buf = new Uint8Array(new ArrayBuffer(PERF_ATTR_SIZE));
  const dv = new DataView(buf.buffer);
  const u64 = (off: number, v: bigint | number | undefined) => {
    if (v !== undefined) dv.setBigUint64(off, BigInt(v), true);
  };
  dv.setUint32(0, a.type, true);
  dv.setUint32(4, PERF_ATTR_SIZE, true);
  u64(8, a.config);
  u64(16, a.sample_freq ?? a.sample_period);
  u64(24, a.sample_type);
  u64(32, a.read_format);
  let bits = 0n;
  for (const [k, on] of Object.entries(a.flags ?? {})) {
    if (on) bits |= 1n << BigInt(FLAG_BITS[k as PerfFlag]);
  }
  dv.setBigUint64(40, bits, true);
  dv.setUint32(48, a.wakeup_watermark ?? a.wakeup_events ?? 0, true);
  dv.setUint32(52, a.bp_type ?? 0, true);
  u64(56, a.config1);
  u64(64, a.config2);
  u64(128, a.config3);
  return buf;
}

/**
 * perf_event_open(attr, pid, cpu, group_fd, flags) → fd. For a tracepoint+BPF pair,
 * pid=-1 cpu=0 sees events of all CPUs (measured here, see PLATFORM.md).
 */
export function perfEventOpen(
  attr: PerfEventAttr,
  pid = -1,
  cpu = 0,
  groupFd = -1,
  flags = PERF_FLAG_FD_CLOEXEC,
  what?: string,
): number {
  const buf = encodePerfEventAttr(attr);
  const fd = sysPerfEventOpen(SYS_perf_event_open, buf, pid, cpu, groupFd, flags);
  if (fd < 0) {
    throw new SyscallError("perf_event_open", errno(), {
      what,
      fields: { type: attr.type, config: attr.config, pid, cpu },
    });
  }
  return fd;
}

/** ioctl(fd, req, arg); throws SyscallError naming the request. */
export function ioctl(fd: number, req: number, arg: number | bigint = 0, what?: string): number {
  const r = ioctlRaw(fd, req, arg);
  if (r < 0) {
    throw new SyscallError(`ioctl(0x${req.toString(16)})`, errno(), { what: what ?? `fd ${fd}` });
  }
  return r;
}

export interface ProbeEventAttr {
  /** The PMU's type number (/sys/bus/event_source/devices/{kprobe,uprobe}/type). */
  type: number;
  /** The retprobe bit when probing returns (from the PMU's format/retprobe), else 0. */
  config: number;
  /** kprobe_func (a kernel symbol) or uprobe_path (a file): config1 points at it. */
  name: string;
  /** probe_offset: offset from the symbol (kprobe) or file offset (uprobe), in config2. */
  offset: bigint | number;
}

/**
 * perf_event_open for the kprobe/uprobe PMUs (Linux 4.17+): config1 carries a pointer
 * to the NUL-terminated function name or file path, which must stay alive for the call.
 */
export function perfEventOpenProbe(a: ProbeEventAttr, pid: number, cpu: number, what: string): number {
  const name = new TextEncoder().encode(`${a.name}\0`);
  const attr: PerfEventAttr = {
    type: a.type,
    config: a.config,
    config1: addressOf(name),
    config2: a.offset,
  };
  const fd = sysPerfEventOpen(
    SYS_perf_event_open,
    encodePerfEventAttr(attr),
    pid,
    cpu,
    -1,
    PERF_FLAG_FD_CLOEXEC,
  );
  if (fd < 0) {
    throw new SyscallError("perf_event_open", errno(), {
      what,
      fields: { type: a.type, config: a.config, name: a.name, offset: a.offset, pid, cpu },
    });
  }
  name.fill(0, 0, 0); // keeps `name` reachable until the call has returned
  return fd;
}
