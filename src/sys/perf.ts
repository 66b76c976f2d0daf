// perf_event_open(2) and the perf ioctls, for attaching BPF programs to tracepoints.
// struct perf_event_attr's offsets and flag bits come from the kernel's BTF (uapi.gen.ts);
// tsbpf passes PERF_ATTR_SIZE_VER8's 136 bytes, which every kernel since 6.3 knows and older
// ones accept while the tail (config3) is zero.
import { perf_event_attr as A } from "../uapi.gen.ts";
import { SyscallError } from "./errors.ts";
import { sys } from "./syscalls.ts";

/** enum perf_type_id, perf_sw_ids, perf_event_sample_format: generated from the kernel's BTF. */
export {
  PERF_COUNT_SW_BPF_OUTPUT,
  PERF_COUNT_SW_CPU_CLOCK,
  PERF_SAMPLE_RAW,
  PERF_TYPE_BREAKPOINT,
  PERF_TYPE_HARDWARE,
  PERF_TYPE_HW_CACHE,
  PERF_TYPE_RAW,
  PERF_TYPE_SOFTWARE,
  PERF_TYPE_TRACEPOINT,
} from "../uapi.gen.ts";
/** read_format bit: read() also returns the samples the event could not write (Linux 6.0+). */
export const PERF_FORMAT_LOST = 1 << 4;

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

/** The one-bit flags of perf_event_attr's flag word that callers may set. */
const FLAGS = [
  "disabled",
  "inherit",
  "pinned",
  "exclusive",
  "exclude_user",
  "exclude_kernel",
  "exclude_hv",
  "exclude_idle",
  "mmap",
  "comm",
  "freq",
  "inherit_stat",
  "enable_on_exec",
  "task",
  "watermark",
  "mmap_data",
  "sample_id_all",
  "exclude_host",
  "exclude_guest",
  "exclude_callchain_kernel",
  "exclude_callchain_user",
  "mmap2",
  "comm_exec",
  "use_clockid",
  "context_switch",
  "write_backward",
  "namespaces",
  "ksymbol",
  "bpf_event",
  "aux_output",
] as const;

export type PerfFlag = (typeof FLAGS)[number] | "precise_ip";

/** Offset of the flag word and each flag's bit in it (precise_ip is 2 bits: its low bit). */
const FLAG_WORD = A.disabled[0];
const FLAG_BITS: Record<PerfFlag, number> = Object.fromEntries(
  [...FLAGS, "precise_ip" as const].map((f) => {
    const [word, , bit] = A[f];
    if (word !== FLAG_WORD) throw new Error(`perf_event_attr.${f} is not in the flag word`);
    return [f, bit];
  }),
) as Record<PerfFlag, number>;

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
  dv.setUint32(A.type[0], a.type, true);
  dv.setUint32(A.size[0], PERF_ATTR_SIZE, true);
  u64(A.config[0], a.config);
  u64(A.sample_period[0], a.sample_freq ?? a.sample_period);
  u64(A.sample_type[0], a.sample_type);
  u64(A.read_format[0], a.read_format);
  let bits = 0n;
  for (const [k, on] of Object.entries(a.flags ?? {})) {
    if (on) bits |= 1n << BigInt(FLAG_BITS[k as PerfFlag]);
  }
  dv.setBigUint64(FLAG_WORD, bits, true);
  dv.setUint32(A.wakeup_events[0], a.wakeup_watermark ?? a.wakeup_events ?? 0, true);
  dv.setUint32(A.bp_type[0], a.bp_type ?? 0, true);
  u64(A.config1[0], a.config1);
  u64(A.config2[0], a.config2);
  u64(A.config3[0], a.config3);
  return buf;
}

/**
 * perf_event_open(attr, pid, cpu, group_fd, flags) → fd. For a tracepoint+BPF pair,
 * pid=-1 cpu=0 sees events of all CPUs (checked on this project's kernels: PLATFORM.md).
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
  const fd = sys.perf_event_open(buf, pid, cpu, groupFd, flags);
  if (fd < 0) {
    throw new SyscallError("perf_event_open", sys.errno(), {
      what,
      fields: { type: attr.type, config: attr.config, pid, cpu },
    });
  }
  return fd;
}

/**
 * The samples an event opened with read_format PERF_FORMAT_LOST (and no other
 * read_format bit) failed to write so far: read(2) gives { u64 value; u64 lost; }
 * (include/uapi/linux/perf_event.h, "read_format"). The kernel counts each failed
 * perf_output_begin() there (kernel/events/ring_buffer.c, event->lost_samples), also
 * the ones no PERF_RECORD_LOST has reported yet.
 */
export function perfReadLost(fd: number, what?: string): bigint {
  const buf = new Uint8Array(16);
  if (sys.read(fd, buf, 16) !== 16)
    throw new SyscallError("read", sys.errno(), { what: what ?? `perf event fd ${fd}` });
  return new DataView(buf.buffer).getBigUint64(8, true);
}

/** ioctl(fd, req, arg); throws SyscallError naming the request. */
export function ioctl(fd: number, req: number, arg: number | bigint = 0, what?: string): number {
  const r = sys.ioctl(fd, req, arg);
  if (r < 0) {
    throw new SyscallError(`ioctl(0x${req.toString(16)})`, sys.errno(), { what: what ?? `fd ${fd}` });
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
    config1: sys.address_of(name),
    config2: a.offset,
  };
  const fd = sys.perf_event_open(encodePerfEventAttr(attr), pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    throw new SyscallError("perf_event_open", sys.errno(), {
      what,
      fields: { type: a.type, config: a.config, name: a.name, offset: a.offset, pid, cpu },
    });
  }
  name.fill(0, 0, 0); // keeps `name` reachable until the call has returned
  return fd;
}
