// SEC() name → program type, following the semantics of libbpf's section_defs
// table (tools/lib/bpf/libbpf.c): a pattern ending in "+" matches the bare name or
// the name followed by "/extra"; a pattern ending in "/" must be followed by an
// extra; any other pattern must match exactly. The first match wins, so longer
// and more specific names come before their prefixes. Our own table.
import type { ProgramTypeInfo } from "../spec.ts";
import { BPF_ATTACH_TYPE as A, BPF_PROG_TYPE as P } from "../uapi.ts";

type Attach = ProgramTypeInfo["attach"];

interface SecDef {
  pattern: string;
  typeName: string;
  progType: number;
  expectedAttachType: number;
  attach: Attach;
  sleepable?: boolean;
}

function def(
  pattern: string,
  progType: number,
  expectedAttachType: number,
  attach: Attach,
  sleepable = false,
): SecDef {
  const typeName =
    Object.entries(P)
      .find(([, v]) => v === progType)?.[0]
      .toLowerCase() ?? "unspec";
  return { pattern, typeName, progType, expectedAttachType, attach, sleepable };
}

// enum bpf_attach_type values not (yet) in src/uapi.ts's short list.
const BPF_CGROUP_INET_SOCK_CREATE = 2;
const BPF_CGROUP_SOCK_OPS = 3;

const SECTION_DEFS: SecDef[] = [
  def("socket", P.SOCKET_FILTER, 0, "socket"),
  def("kprobe+", P.KPROBE, 0, "kprobe"),
  def("kretprobe+", P.KPROBE, 0, "kretprobe"),
  def("ksyscall+", P.KPROBE, 0, "ksyscall"),
  def("kretsyscall+", P.KPROBE, 0, "kretsyscall"),
  def("kprobe.multi+", P.KPROBE, A.BPF_TRACE_KPROBE_MULTI, "kprobe_multi"),
  def("kretprobe.multi+", P.KPROBE, A.BPF_TRACE_KPROBE_MULTI, "kretprobe_multi"),
  def("uprobe+", P.KPROBE, 0, "uprobe"),
  def("uprobe.s+", P.KPROBE, 0, "uprobe", true),
  def("uretprobe+", P.KPROBE, 0, "uretprobe"),
  def("uretprobe.s+", P.KPROBE, 0, "uretprobe", true),
  def("usdt+", P.KPROBE, 0, "usdt"),
  def("usdt.s+", P.KPROBE, 0, "usdt", true),
  def("tc", P.SCHED_CLS, 0, "none"),
  def("classifier", P.SCHED_CLS, 0, "none"),
  def("action", P.SCHED_ACT, 0, "none"),
  def("tracepoint+", P.TRACEPOINT, 0, "tracepoint"),
  def("tp+", P.TRACEPOINT, 0, "tracepoint"),
  def("tracepoint.s+", P.TRACEPOINT, 0, "tracepoint", true),
  def("tp.s+", P.TRACEPOINT, 0, "tracepoint", true),
  def("raw_tracepoint+", P.RAW_TRACEPOINT, 0, "raw_tracepoint"),
  def("raw_tp+", P.RAW_TRACEPOINT, 0, "raw_tracepoint"),
  def("raw_tracepoint.s+", P.RAW_TRACEPOINT, 0, "raw_tracepoint", true),
  def("raw_tp.s+", P.RAW_TRACEPOINT, 0, "raw_tracepoint", true),
  def("raw_tracepoint.w+", P.RAW_TRACEPOINT_WRITABLE, 0, "raw_tracepoint"),
  def("raw_tp.w+", P.RAW_TRACEPOINT_WRITABLE, 0, "raw_tracepoint"),
  def("tp_btf+", P.TRACING, A.BPF_TRACE_RAW_TP, "tp_btf"),
  def("tp_btf.s+", P.TRACING, A.BPF_TRACE_RAW_TP, "tp_btf", true),
  def("fentry+", P.TRACING, A.BPF_TRACE_FENTRY, "fentry"),
  def("fmod_ret+", P.TRACING, A.BPF_MODIFY_RETURN, "fmod_ret"),
  def("fexit+", P.TRACING, A.BPF_TRACE_FEXIT, "fexit"),
  def("fentry.s+", P.TRACING, A.BPF_TRACE_FENTRY, "fentry", true),
  def("fmod_ret.s+", P.TRACING, A.BPF_MODIFY_RETURN, "fmod_ret", true),
  def("fexit.s+", P.TRACING, A.BPF_TRACE_FEXIT, "fexit", true),
  def("freplace+", P.EXT, 0, "none"),
  def("lsm+", P.LSM, A.BPF_LSM_MAC, "lsm"),
  def("lsm.s+", P.LSM, A.BPF_LSM_MAC, "lsm", true),
  def("lsm_cgroup+", P.LSM, A.BPF_LSM_CGROUP, "none"),
  def("iter+", P.TRACING, A.BPF_TRACE_ITER, "none"),
  def("iter.s+", P.TRACING, A.BPF_TRACE_ITER, "none", true),
  // libbpf marks SEC("syscall") sleepable: BPF_PROG_TYPE_SYSCALL programs always are.
  def("syscall", P.SYSCALL, 0, "syscall", true),
  def("xdp.frags", P.XDP, A.BPF_XDP, "xdp"),
  def("xdp", P.XDP, A.BPF_XDP, "xdp"),
  def("perf_event", P.PERF_EVENT, 0, "none"),
  def("sockops", P.SOCK_OPS, BPF_CGROUP_SOCK_OPS, "none"),
  def("cgroup_skb/ingress", P.CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS, "none"),
  def("cgroup_skb/egress", P.CGROUP_SKB, A.BPF_CGROUP_INET_EGRESS, "none"),
  def("cgroup/skb", P.CGROUP_SKB, 0, "none"),
  def("cgroup/sock", P.CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, "none"),
];

function matches(pattern: string, sec: string): { ok: boolean; rest: string } {
  if (pattern.endsWith("+")) {
    const p = pattern.slice(0, -1);
    if (sec === p) return { ok: true, rest: "" };
    if (sec.startsWith(`${p}/`)) return { ok: true, rest: sec.slice(p.length + 1) };
    return { ok: false, rest: "" };
  }
  if (pattern.endsWith("/")) {
    return sec.startsWith(pattern) ? { ok: true, rest: sec.slice(pattern.length) } : { ok: false, rest: "" };
  }
  return { ok: sec === pattern, rest: "" };
}

/**
 * The program type for a SEC() name, or undefined when no definition matches
 * (libbpf would then refuse the program unless the caller sets a type).
 */
export function programTypeForSection(section: string): ProgramTypeInfo | undefined {
  for (const d of SECTION_DEFS) {
    const m = matches(d.pattern, section);
    if (!m.ok) continue;
    return {
      typeName: d.typeName,
      progType: d.progType,
      expectedAttachType: d.expectedAttachType,
      attach: d.attach,
      attachTo: m.rest,
      sleepable: d.sleepable ?? false,
    };
  }
  return undefined;
}

/** For an unknown section: BPF_PROG_TYPE_UNSPEC, so inspect can still show the program. */
export function unknownProgramType(): ProgramTypeInfo {
  return {
    typeName: "unspec",
    progType: P.UNSPEC,
    expectedAttachType: 0,
    attach: "none",
    attachTo: "",
    sleepable: false,
  };
}
