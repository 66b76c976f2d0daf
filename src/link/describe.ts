// How a program would be attached, as plain data for `tsbpf explain`: the syscall and
// attach type, the target it needs, and the fallback on kernels without that link type.
// Pure: reads the program's spec only.
import type { ProgramSpec } from "../spec.ts";
import { BPF_ATTACH_TYPE } from "../uapi.ts";

export interface AttachPlan {
  /** The attach kind from SEC() ("xdp", "tcx", "cgroup", ...; "none" when not attached). */
  kind: string;
  /** enum bpf_attach_type name of expected_attach_type, when there is one. */
  attach_type?: string;
  /** What attaching does, in the kernel's terms. */
  how: string;
  /** What the caller must supply (an interface, a cgroup, ...), when SEC() does not say. */
  needs?: string;
  /** The older way, used when the kernel lacks the first. */
  fallback?: string;
}

const ATTACH_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(BPF_ATTACH_TYPE).map(([k, v]) => [v, k]),
);

export function describeAttach(p: ProgramSpec): AttachPlan {
  const at = p.expectedAttachType ? ATTACH_TYPE_NAMES[p.expectedAttachType] : undefined;
  const base = { kind: p.attach, ...(at ? { attach_type: at } : {}) };
  switch (p.attach) {
    case "tracepoint":
      return {
        ...base,
        how: `perf_event_open(PERF_TYPE_TRACEPOINT, id of ${p.attachTo || "the tracepoint"}) + BPF_LINK_CREATE (BPF_PERF_EVENT)`,
        fallback: "PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE (before 5.15)",
      };
    case "raw_tracepoint":
      return { ...base, how: `BPF_RAW_TRACEPOINT_OPEN of ${p.attachTo || "the tracepoint"}` };
    case "tp_btf":
    case "fentry":
    case "fexit":
    case "fmod_ret":
    case "lsm":
      return {
        ...base,
        how: `BPF_LINK_CREATE (${at}); the target ${p.attachTo} was fixed at load (attach_btf_id)`,
        fallback: "BPF_RAW_TRACEPOINT_OPEN with no name",
      };
    case "xdp":
      return {
        ...base,
        how: "BPF_LINK_CREATE (BPF_XDP) with the interface's ifindex and the mode flags (5.9+)",
        needs: "an interface",
        fallback:
          "RTM_SETLINK with IFLA_XDP { FD, FLAGS } over rtnetlink; removed with IFLA_XDP_EXPECTED_FD on close",
      };
    case "tcx":
      return {
        ...base,
        how: `BPF_LINK_CREATE (${at}) with the interface's ifindex (tcx, 6.6+)`,
        needs: "an interface",
        fallback:
          "a clsact qdisc (RTM_NEWQDISC) and a cls_bpf filter in direct-action mode (RTM_NEWTFILTER) over rtnetlink",
      };
    case "tc":
      return {
        ...base,
        how: "a clsact qdisc (RTM_NEWQDISC) and a cls_bpf filter in direct-action mode (RTM_NEWTFILTER) on the chosen hook",
        needs: "an interface and a direction (ingress by default)",
      };
    case "cgroup":
      return {
        ...base,
        how: `BPF_LINK_CREATE (${at}) with a cgroup v2 directory fd (5.7+)`,
        needs: "a cgroup",
        fallback: "BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI; BPF_PROG_DETACH on close",
      };
    case "socket":
      return { ...base, how: "setsockopt(SO_ATTACH_BPF) on a socket", needs: "a socket" };
    case "sk_lookup":
    case "flow_dissector":
      return {
        ...base,
        how: `BPF_LINK_CREATE (${at}) with a network namespace fd`,
        needs: "a network namespace (default: the caller's)",
      };
    case "iter":
      return {
        ...base,
        how: "BPF_LINK_CREATE (BPF_TRACE_ITER), then BPF_ITER_CREATE for each read; a pinned link reads with cat",
      };
    case "perf_event":
      return {
        ...base,
        how: "perf_event_open on every online CPU (cpu-clock by default) + BPF_LINK_CREATE (BPF_PERF_EVENT) each",
        fallback: "PERF_EVENT_IOC_SET_BPF + PERF_EVENT_IOC_ENABLE (before 5.15)",
      };
    case "sockmap":
      return {
        ...base,
        how: `BPF_LINK_CREATE (${at}) with a sockmap/sockhash fd (6.10+)`,
        needs: "a sockmap or sockhash",
        fallback: "BPF_PROG_ATTACH with the map fd",
      };
    case "none":
      if (at === "BPF_XDP_DEVMAP" || at === "BPF_XDP_CPUMAP")
        return {
          ...base,
          how: `runs from a ${at === "BPF_XDP_DEVMAP" ? "devmap" : "cpumap"} entry: put its fd in the value's bpf_prog.fd`,
        };
      return { ...base, how: `not attached by tsbpf (${p.typeName})` };
    case "syscall":
      return { ...base, how: "not attached: run with BPF_PROG_TEST_RUN" };
    default:
      return { ...base, kind: p.attach, how: `not attached by tsbpf (${p.typeName})` };
  }
}
