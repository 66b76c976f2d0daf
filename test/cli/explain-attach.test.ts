// `tsbpf explain` describes each program's attach step: the syscall and attach type,
// the target the caller must give, and the fallback on older kernels.
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../helpers/cli.ts";
import { ROOT_DIR } from "../helpers/env.ts";

type Plan = { kind: string; attach_type?: string; how: string; needs?: string; fallback?: string };

function plans(obj: string): Record<string, Plan> {
  const r = runCli(["explain", join(ROOT_DIR, "test/fixtures", obj), "--no-load", "--json"]);
  assert.is(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { programs: { name: string; attach: Plan }[] };
  return Object.fromEntries(rep.programs.map((p) => [p.name, p.attach]));
}

test("explain --json: attach plans of network, cgroup, socket and map-entry programs", () => {
  const p = plans("net.bpf.o");
  assert.is(p.xdp_udp?.attach_type, "BPF_XDP");
  assert.is(p.xdp_udp?.needs, "an interface");
  assert.match(p.xdp_udp?.fallback ?? "", "IFLA_XDP");
  assert.is(p.tc_in?.attach_type, "BPF_TCX_INGRESS");
  assert.match(p.tc_in?.fallback ?? "", "cls_bpf");
  assert.match(p.tc_any?.how ?? "", "clsact");
  assert.is(p.block_connect4?.attach_type, "BPF_CGROUP_INET4_CONNECT");
  assert.match(p.block_connect4?.fallback ?? "", "BPF_PROG_ATTACH");
  assert.is(p.sysctl_ro?.attach_type, "BPF_CGROUP_SYSCTL");
  assert.match(p.sock_filter?.how ?? "", "SO_ATTACH_BPF");
  assert.is(p.steer?.attach_type, "BPF_SK_LOOKUP");
  assert.match(p.xdp_devmap_prog?.how ?? "", "devmap entry");
  assert.is(p.msg_count?.needs, "a sockmap or sockhash");
});

test("explain text: iterator and perf_event attach steps", () => {
  const p = plans("iter.bpf.o");
  assert.match(p.dump_tasks?.how ?? "", "BPF_ITER_CREATE");
  assert.match(p.on_sample?.how ?? "", "every online CPU");
  const r = runCli(["explain", join(ROOT_DIR, "test/fixtures/iter.bpf.o"), "--no-load"]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /dump_tasks .*\n\s+attach: BPF_LINK_CREATE \(BPF_TRACE_ITER\)/);
});

test.run();
