import { test } from "uvu";
import * as assert from "uvu/assert";
import { programTypeForSection } from "../../src/elf/sections.ts";
import { BPF_ATTACH_TYPE as A, BPF_PROG_TYPE as P } from "../../src/uapi.ts";

const cases: [string, number, number, string, string, boolean][] = [
  ["tracepoint/sched/sched_process_exec", P.TRACEPOINT, 0, "tracepoint", "sched/sched_process_exec", false],
  ["tp/sched/sched_process_exit", P.TRACEPOINT, 0, "tracepoint", "sched/sched_process_exit", false],
  ["raw_tracepoint/sched_process_fork", P.RAW_TRACEPOINT, 0, "raw_tracepoint", "sched_process_fork", false],
  ["raw_tp/sys_enter", P.RAW_TRACEPOINT, 0, "raw_tracepoint", "sys_enter", false],
  ["raw_tp.w/sys_enter", P.RAW_TRACEPOINT_WRITABLE, 0, "raw_tracepoint", "sys_enter", false],
  ["tp_btf/sched_process_fork", P.TRACING, A.BPF_TRACE_RAW_TP, "tp_btf", "sched_process_fork", false],
  ["fentry/do_exit", P.TRACING, A.BPF_TRACE_FENTRY, "fentry", "do_exit", false],
  ["fexit/do_exit", P.TRACING, A.BPF_TRACE_FEXIT, "fexit", "do_exit", false],
  ["fmod_ret/security_x", P.TRACING, A.BPF_MODIFY_RETURN, "fmod_ret", "security_x", false],
  ["fentry.s/do_sys_open", P.TRACING, A.BPF_TRACE_FENTRY, "fentry", "do_sys_open", true],
  ["fexit.s/do_sys_open", P.TRACING, A.BPF_TRACE_FEXIT, "fexit", "do_sys_open", true],
  ["lsm/bprm_check_security", P.LSM, A.BPF_LSM_MAC, "lsm", "bprm_check_security", false],
  ["lsm.s/file_open", P.LSM, A.BPF_LSM_MAC, "lsm", "file_open", true],
  ["kprobe/do_exit", P.KPROBE, 0, "kprobe", "do_exit", false],
  ["kretprobe/do_exit", P.KPROBE, 0, "kretprobe", "do_exit", false],
  ["uprobe//bin/bash:readline", P.KPROBE, 0, "uprobe", "/bin/bash:readline", false],
  ["uretprobe", P.KPROBE, 0, "uretprobe", "", false],
  ["uprobe.s/x", P.KPROBE, 0, "uprobe", "x", true],
  ["syscall", P.SYSCALL, 0, "syscall", "", true],
  ["socket", P.SOCKET_FILTER, 0, "socket", "", false],
  ["xdp", P.XDP, A.BPF_XDP, "xdp", "", false],
  ["xdp.frags", P.XDP, A.BPF_XDP, "xdp", "", false],
  ["xdp/devmap", P.XDP, A.BPF_XDP_DEVMAP, "none", "", false],
  ["xdp/cpumap", P.XDP, A.BPF_XDP_CPUMAP, "none", "", false],
  ["tc", P.SCHED_CLS, 0, "tc", "", false],
  ["classifier", P.SCHED_CLS, 0, "tc", "", false],
  ["tc/ingress", P.SCHED_CLS, A.BPF_TCX_INGRESS, "tcx", "", false],
  ["tc/egress", P.SCHED_CLS, A.BPF_TCX_EGRESS, "tcx", "", false],
  ["tcx/ingress", P.SCHED_CLS, A.BPF_TCX_INGRESS, "tcx", "", false],
  ["tcx/egress", P.SCHED_CLS, A.BPF_TCX_EGRESS, "tcx", "", false],
  ["cgroup_skb/ingress", P.CGROUP_SKB, A.BPF_CGROUP_INET_INGRESS, "cgroup", "", false],
  ["cgroup_skb/egress", P.CGROUP_SKB, A.BPF_CGROUP_INET_EGRESS, "cgroup", "", false],
  ["cgroup/sock_create", P.CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE, "cgroup", "", false],
  ["cgroup/sock", P.CGROUP_SOCK, A.BPF_CGROUP_INET_SOCK_CREATE, "cgroup", "", false],
  ["cgroup/connect4", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET4_CONNECT, "cgroup", "", false],
  ["cgroup/connect6", P.CGROUP_SOCK_ADDR, A.BPF_CGROUP_INET6_CONNECT, "cgroup", "", false],
  ["cgroup/sysctl", P.CGROUP_SYSCTL, A.BPF_CGROUP_SYSCTL, "cgroup", "", false],
  ["sockops", P.SOCK_OPS, A.BPF_CGROUP_SOCK_OPS, "cgroup", "", false],
  ["sk_lookup", P.SK_LOOKUP, A.BPF_SK_LOOKUP, "sk_lookup", "", false],
  ["sk_msg", P.SK_MSG, A.BPF_SK_MSG_VERDICT, "sockmap", "", false],
  ["sk_skb/stream_verdict", P.SK_SKB, A.BPF_SK_SKB_STREAM_VERDICT, "sockmap", "", false],
  ["perf_event", P.PERF_EVENT, 0, "perf_event", "", false],
  ["iter/task", P.TRACING, A.BPF_TRACE_ITER, "iter", "task", false],
  ["iter/bpf_map", P.TRACING, A.BPF_TRACE_ITER, "iter", "bpf_map", false],
];

test("SEC() names map to libbpf's program types and attach types", () => {
  for (const [sec, type, attachType, attach, to, sleepable] of cases) {
    const info = programTypeForSection(sec);
    assert.ok(info, sec);
    assert.is(info?.progType, type, `${sec}: prog type`);
    assert.is(info?.expectedAttachType, attachType, `${sec}: expected attach type`);
    assert.is(info?.attach, attach, `${sec}: attach`);
    assert.is(info?.attachTo, to, `${sec}: attachTo`);
    assert.is(info?.sleepable, sleepable, `${sec}: sleepable`);
  }
});

test("type names are the lower-case BPF_PROG_TYPE names", () => {
  assert.is(programTypeForSection("tp_btf/x")?.typeName, "tracing");
  assert.is(programTypeForSection("tracepoint/a/b")?.typeName, "tracepoint");
  assert.is(programTypeForSection("raw_tp/x")?.typeName, "raw_tracepoint");
});

test("'+' patterns need an exact name or a '/' separator; exact patterns must match exactly", () => {
  assert.is(programTypeForSection("tracepointfoo"), undefined);
  assert.is(programTypeForSection("kprobex/do_exit"), undefined);
  assert.is(programTypeForSection("socket/extra"), undefined);
  assert.is(programTypeForSection("xdpx"), undefined);
  assert.is(programTypeForSection(".text"), undefined);
  assert.is(programTypeForSection("tracepoint")?.attachTo, "");
});

test.run();
