// SEC() name → program type, following the semantics of libbpf's section_defs
// table (tools/lib/bpf/libbpf.c): a pattern ending in "+" matches the bare name or
// the name followed by "/extra"; a pattern ending in "/" must be followed by an
// extra; any other pattern must match exactly. The first match wins, so longer
// and more specific names come before their prefixes. Our own table.
import type { ProgramTypeInfo } from "../spec.ts";
import { BPF_ATTACH_TYPE as A, BPF_F_XDP_HAS_FRAGS, BPF_PROG_TYPE as P } from "../uapi.ts";

type Attach = ProgramTypeInfo["attach"];

interface SecDef {
  pattern: string;
  typeName: string;
  progType: number;
  expectedAttachType: number;
  attach: Attach;
  sleepable?: boolean;
  progFlags?: number;
}

function def(
  pattern: string,
  progType: number,
  expectedAttachType: number,
  attach: Attach,
  sleepable = false,
  progFlags = 0,
): SecDef {
  const typeName =
    Object.entries(P)
      .find(([, v]) => v === progType)?.[0]
      .toLowerCase() ?? "unspec";
  return { pattern, typeName, progType, expectedAttachType, attach, sleepable, progFlags };
}

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
  def("sk_reuseport/migrate", P.SK_REUSEPORT, A.BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, "none"),
  def("sk_reuseport", P.SK_REUSEPORT, A.BPF_SK_REUSEPORT_SELECT, "none"),
  // libbpf: tc/ingress and tc/egress are aliases of tcx/ingress and tcx/egress. Attach
  // uses a tcx link where the kernel has one (6.6+), cls_bpf in a clsact qdisc otherwise.
  def("tc/ingress", P.SCHED_CLS, A.BPF_TCX_INGRESS, "tcx"),
  def("tc/egress", P.SCHED_CLS, A.BPF_TCX_EGRESS, "tcx"),
  def("tcx/ingress", P.SCHED_CLS, A.BPF_TCX_INGRESS, "tcx"),
  def("tcx/egress", P.SCHED_CLS, A.BPF_TCX_EGRESS, "tcx"),
  // Bare SEC("tc"): the direction comes from the caller (ingress by default).
  def("tc", P.SCHED_CLS, 0, "tc"),
  def("classifier", P.SCHED_CLS, 0, "tc"),
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
  def("iter+", P.TRACING, A.BPF_TRACE_ITER, "iter"),
  def("iter.s+", P.TRACING, A.BPF_TRACE_ITER, "iter", true),
  // libbpf marks SEC("syscall") sleepable: BPF_PROG_TYPE_SYSCALL programs always are.
  def("syscall", P.SYSCALL, 0, "syscall", true),
  // xdp/devmap and xdp/cpumap programs run from a devmap/cpumap entry, not an interface.
  def("xdp.frags/devmap", P.XDP, A.BPF_XDP_DEVMAP, "none", false, BPF_F_XDP_HAS_FRAGS),
  def("xdp/devmap", P.XDP, A.BPF_XDP_DEVMAP, "none"),
  def("xdp.frags/cpumap", P.XDP, A.BPF_XDP_CPUMAP, "none", false, BPF_F_XDP_HAS_FRAGS),
  def("xdp/cpumap", P.XDP, A.BPF_XDP_CPUMAP, "none"),
  def("xdp.frags", P.XDP, A.BPF_XDP, "xdp", false, BPF_F_XDP_HAS_FRAGS),
  def("xdp", P.XDP, A.BPF_XDP, "xdp"),
  def("perf_event", P.PERF_EVENT, 0, "perf_event"),
  def("sockops", P.SOCK_OPS, A.BPF_CGROUP_SOCK_OPS, "cgroup"),
  def("sk_skb/stream_parser", P.SK_SKB, A.BPF_SK_SKB_STREAM_PARSER, "sockmap"),
  def("sk_skb/stream_verdict", P.SK_SKB, A.BPF_SK_SKB_STREAM_VERDICT, "sockmap"),
  def("sk_skb/verdict", P.SK_SKB, A.BPF_SK_SKB_VERDICT, "sockmap"),
  def("sk_skb", P.SK_SKB, 0, "none"),
  def("sk_msg", P.SK_MSG, A.BPF_SK_MSG_VERDICT, "sockmap"),
  def("flow_dissector", P.FLOW_DISSECTOR, A.BPF_FLOW_DISSECTOR, "flow_dissector"),
  def("cgroup_skb/ingress", P.CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS, "cgroup"),
  def("cgroup_skb/egress", P.CGROUP_SKB, A.BPF_CGROUP_INET_EGRESS, "cgroup"),
  def("cgroup/skb", P.CGROUP_SKB, 0, "none"),
  def("cgroup/sock_create", P.CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE, "cgroup"),
  def("cgroup/sock_release", P.CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_RELEASE, "cgroup"),
  def("cgroup/sock", P.CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE, "cgroup"),
  def("cgroup/post_bind4", P.CGROUP_SOCK, A.BPF_CGROUP_INET4_POST_BIND, "cgroup"),
  def("cgroup/post_bind6", P.CGROUP_SOCK, A.BPF_CGROUP_INET6_POST_BIND, "cgroup"),
  def("cgroup/bind4", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_BIND, "cgroup"),
  def("cgroup/bind6", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_BIND, "cgroup"),
  def("cgroup/connect4", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_CONNECT, "cgroup"),
  def("cgroup/connect6", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_CONNECT, "cgroup"),
  def("cgroup/connect_unix", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_CONNECT, "cgroup"),
  def("cgroup/sendmsg4", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP4_SENDMSG, "cgroup"),
  def("cgroup/sendmsg6", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP6_SENDMSG, "cgroup"),
  def("cgroup/sendmsg_unix", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_SENDMSG, "cgroup"),
  def("cgroup/recvmsg4", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP4_RECVMSG, "cgroup"),
  def("cgroup/recvmsg6", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UDP6_RECVMSG, "cgroup"),
  def("cgroup/recvmsg_unix", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_RECVMSG, "cgroup"),
  def("cgroup/getpeername4", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_GETPEERNAME, "cgroup"),
  def("cgroup/getpeername6", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_GETPEERNAME, "cgroup"),
  def("cgroup/getpeername_unix", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_GETPEERNAME, "cgroup"),
  def("cgroup/getsockname4", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_GETSOCKNAME, "cgroup"),
  def("cgroup/getsockname6", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_GETSOCKNAME, "cgroup"),
  def("cgroup/getsockname_unix", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_UNIX_GETSOCKNAME, "cgroup"),
  def("cgroup/sysctl", P.CGROUP_SYSCTL, A.BPF_CGROUP_SYSCTL, "cgroup"),
  def("cgroup/getsockopt", P.CGROUP_SOCKOPT, A.BPF_CGROUP_GETSOCKOPT, "cgroup"),
  def("cgroup/setsockopt", P.CGROUP_SOCKOPT, A.BPF_CGROUP_SETSOCKOPT, "cgroup"),
  def("cgroup/dev", P.CGROUP_DEVICE, A.BPF_CGROUP_DEVICE, "cgroup"),
  def("sk_lookup", P.SK_LOOKUP, A.BPF_SK_LOOKUP, "sk_lookup"),
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
      ...(d.progFlags ? { progFlags: d.progFlags } : {}),
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
