// `tsbpf load` with network, cgroup, iterator and perf_event programs: what is missing
// is named with the option that gives it (and --no-attach), nothing stays loaded
// after that error; with the targets given every program attaches and --pin leaves
// the links in bpffs, where a pinned iterator prints with cat, a perf_event link is a
// directory with one link per CPU, and a cgroup program keeps counting after exit.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { onlineCpus } from "../../src/link/perf-sample.ts";
import { closeFd, getFdById, listIds, progInfo } from "../../src/sys/bpf.ts";
import { runCli } from "../helpers/cli.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";
import { makeCgroup, vethBed } from "../helpers/net.ts";

const NET = join(ROOT_DIR, "test/fixtures/net.bpf.o");
const ITER = join(ROOT_DIR, "test/fixtures/iter.bpf.o");

function progNames(): Set<string> {
  const names = new Set<string>();
  for (const id of listIds("prog")) {
    try {
      const fd = getFdById("prog", id);
      names.add(progInfo(fd).name);
      closeFd(fd);
    } catch {}
  }
  return names;
}

test("load without targets names each missing one, suggests --no-attach, leaves nothing loaded", () => {
  if (!privileged("load net.bpf.o")) return;
  const r = runCli(["load", NET]);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /program 'xdp_udp' \(SEC\("xdp"\)\) needs a network interface \(--iface IFACE\)/);
  assert.match(
    r.stderr,
    /program 'block_connect4' \(SEC\("cgroup\/connect4"\)\) needs a cgroup \(--cgroup DIR\)/,
  );
  assert.match(r.stderr, /--no-attach/);
  assert.not.match(r.stderr, /\n\s+at /);
  assert.not.ok(progNames().has("sysctl_ro"), "nothing left loaded");
  const bad = runCli(["load", NET, "--iface", "x", "--cgroup", "y", "--xdp-mode", "turbo"]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--xdp-mode must be one of generic, driver, offload, auto/);
});

test("load --iface --netns --cgroup --pin attaches every kind; the cgroup program counts after exit", () => {
  if (!privileged("load net.bpf.o attached") || !haveTool("bpftool")) return;
  const bed = vethBed();
  const cg = makeCgroup();
  const dir = `/sys/fs/bpf/tsbpf-net-${process.pid}-load`;
  try {
    const r = runCli([
      "load",
      NET,
      "--iface",
      bed.ifB,
      "--netns",
      bed.nsB,
      "--cgroup",
      cg.path,
      "--xdp-mode",
      "generic",
      "--sockmap",
      "sock_hash",
      "--pin",
      dir,
      "--json",
    ]);
    assert.is(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      links: { program: string; kind: string; method: string; pinned?: string }[];
      notes: string[];
    };
    const kinds = Object.fromEntries(report.links.map((l) => [l.program, l.kind]));
    assert.equal(
      {
        xdp_udp: kinds.xdp_udp,
        tc_in: kinds.tc_in,
        tc_any: kinds.tc_any,
        block_connect4: kinds.block_connect4,
        steer: kinds.steer,
        msg_count: kinds.msg_count,
      },
      {
        xdp_udp: "xdp",
        tc_in: "tcx",
        tc_any: "tc",
        block_connect4: "cgroup",
        steer: "sk_lookup",
        msg_count: "sockmap",
      },
    );
    assert.ok(report.notes.some((n) => n.startsWith('sock_filter: SEC("socket")')));
    assert.ok(report.notes.some((n) => n.startsWith("tc_any: attached with netlink")));
    assert.ok(existsSync(`${dir}/links/xdp_udp`));
    assert.ok(existsSync(`${dir}/links/block_connect4`));
    // xdp_udp was attached inside the namespace, and the pinned link keeps it there.
    const ipShow = spawnSync("ip", ["-n", bed.nsB.replace("/run/netns/", ""), "link", "show", bed.ifB], {
      encoding: "utf8",
    }).stdout;
    assert.match(ipShow, /xdpgeneric/);
    // The process has exited; the pinned cgroup links still run for processes in the cgroup.
    const before = counter(dir, 10);
    const child = spawnSync("sh", [
      "-c",
      `echo $$ > '${cg.path}/cgroup.procs' && exec python3 -c 'import socket; socket.socket()'`,
    ]);
    assert.is(child.status, 0, String(child.stderr));
    assert.ok(counter(dir, 10) > before, "sock_create counted after tsbpf exited");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    cg.close();
    bed.close();
  }
});

/** counts[slot] of the pinned map, through bpftool (the oracle). */
function counter(dir: string, slot: number): bigint {
  const r = spawnSync(
    "bpftool",
    ["-j", "map", "lookup", "pinned", `${dir}/maps/counts`, "key", String(slot), "0", "0", "0"],
    { encoding: "utf8" },
  );
  const v = JSON.parse(r.stdout) as { value: string[] };
  return v.value.reduce((acc, b, i) => acc + (BigInt(Number.parseInt(b, 16)) << BigInt(8 * i)), 0n);
}

test("load --pin: a pinned iterator prints with cat; a perf_event link is one pin per CPU", () => {
  if (!privileged("load iter.bpf.o")) return;
  const dir = `/sys/fs/bpf/tsbpf-net-${process.pid}-iter`;
  try {
    const r = runCli(["load", ITER, "--pin", dir]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /link\s+dump_tasks -> iter task/);
    const cat = spawnSync("cat", [`${dir}/links/dump_tasks`], { encoding: "utf8" });
    assert.is(cat.status, 0, cat.stderr);
    assert.ok(cat.stdout.startsWith("tgid pid comm\n"));
    assert.match(cat.stdout, new RegExp(`^${process.pid} ${process.pid} `, "m"));
    assert.match(spawnSync("cat", [`${dir}/links/dump_maps`], { encoding: "utf8" }).stdout, / samples 1$/m);
    for (const cpu of onlineCpus()) assert.ok(existsSync(`${dir}/links/on_sample/cpu${cpu}`), `cpu${cpu}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
