// cgroup programs of net.bpf.o on a cgroup v2 directory made by the test: connect4 and
// connect6 refuse a port (and connect4 the prefixes in an LPM trie) for a process
// inside the cgroup and not for one outside; cgroup_skb counts the packets of the
// process inside (also in cgroup storage); sock_create counts its sockets; sysctl
// refuses its writes; connect4 records each connect in the socket's sk_storage.
// Both ways of attaching are checked: BPF_LINK_CREATE and BPF_PROG_ATTACH (with
// bpftool cgroup show as the oracle).
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Collection, loadCollection } from "../../src/loader/collection.ts";
import { AF_INET, close as closeSock, connect, SOCK_STREAM, socket } from "../../src/sys/socket.ts";
import { haveTool, privileged, ROOT_DIR } from "../helpers/env.ts";
import { makeCgroup, sockaddrIn, type TestCgroup } from "../helpers/net.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/net.bpf.o");
const SLOT = {
  CONNECT4: 5,
  CONNECT4_BLOCKED: 6,
  CONNECT6: 7,
  SKB_EGRESS: 8,
  SKB_INGRESS: 9,
  SOCK_CREATE: 10,
  SYSCTL_READ: 11,
  SYSCTL_DENIED: 12,
};

// What a process does to the network and sysctls; prints one JSON line of outcomes.
const CHILD = `
const net = require("net"), fs = require("fs");
const [allowed, blocked] = process.argv.slice(1).map(Number);
const tryConnect = (host, port) => new Promise((r) => {
  const s = net.connect({ host, port });
  s.on("connect", () => { s.destroy(); r("ok"); });
  s.on("error", (e) => r(e.code));
});
(async () => {
  const out = {};
  out.allowed = await tryConnect("127.0.0.1", allowed);
  out.blocked = await tryConnect("127.0.0.1", blocked);
  out.lpm = await tryConnect("127.3.4.5", allowed);
  out.v6 = await tryConnect("::1", blocked);
  const f = "/proc/sys/kernel/domainname";
  const v = fs.readFileSync(f, "utf8");
  try { fs.writeFileSync(f, v); out.sysctlWrite = "ok"; } catch (e) { out.sysctlWrite = e.code; }
  console.log(JSON.stringify(out));
})();
`;

/** Runs CHILD, inside `cg` when given (it moves itself in before node starts). */
function runChild(cg: TestCgroup | undefined, allowed: number, blocked: number): Record<string, string> {
  const node = [process.execPath, "-e", CHILD, String(allowed), String(blocked)];
  const argv = cg ? ["sh", "-c", `echo $$ > '${cg.path}/cgroup.procs' && exec "$@"`, "sh", ...node] : node;
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string);
}

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as { port: number }).port };
}

interface Bed {
  coll: Collection;
  cg: TestCgroup;
  allowed: number;
  blocked: number;
  count(slot: number): bigint;
  close(): Promise<void>;
}

async function setup(): Promise<Bed> {
  const a = await listen();
  const b = await listen();
  const cg = makeCgroup();
  let coll: Collection | undefined;
  try {
    coll = await loadCollection(OBJ);
    (coll.globals.bss as Record<string, unknown>).blocked_port = b.port;
    const c = coll;
    return {
      coll: c,
      cg,
      allowed: a.port,
      blocked: b.port,
      count: (slot) => c.maps.counts?.lookup(slot) as bigint,
      async close() {
        c.close();
        cg.close();
        await new Promise((r) => a.server.close(r));
        await new Promise((r) => b.server.close(r));
      },
    };
  } catch (e) {
    coll?.close();
    cg.close();
    a.server.close();
    b.server.close();
    throw e;
  }
}

test("connect4/connect6 refuse inside the cgroup only; LPM trie blocks a prefix; sysctl writes refused", async () => {
  if (!privileged("cgroup attach")) return;
  const t = await setup();
  try {
    const p = t.coll.programs;
    // Typed LPM key, encoded through the map's BTF: struct ipv4_lpm_key { prefixlen; addr[4] }.
    t.coll.maps.blocked_nets?.update({ prefixlen: 16, addr: Uint8Array.of(127, 3, 0, 0) }, 1);
    assert.equal(t.coll.maps.blocked_nets?.lookup({ prefixlen: 32, addr: Uint8Array.of(127, 3, 200, 1) }), 1);
    assert.is(
      t.coll.maps.blocked_nets?.lookup({ prefixlen: 32, addr: Uint8Array.of(127, 4, 0, 1) }),
      undefined,
    );
    const links = [
      p.block_connect4?.attach({ cgroup: t.cg.path }),
      p.block_connect6?.attach({ cgroup: t.cg.path }),
      p.sysctl_ro?.attach({ cgroup: t.cg.path }),
      p.sock_create?.attach({ cgroup: t.cg.path }),
    ];
    assert.ok(links.every((l) => l?.isBpfLink && l.kind === "cgroup" && l.target === t.cg.path));
    const inside = runChild(t.cg, t.allowed, t.blocked);
    assert.equal(inside, {
      allowed: "ok",
      blocked: "EPERM",
      lpm: "EPERM",
      v6: "EPERM",
      sysctlWrite: "EPERM",
    });
    const outside = runChild(undefined, t.allowed, t.blocked);
    assert.is(outside.allowed, "ok");
    assert.is(outside.blocked, "ok");
    assert.is(outside.lpm, "ECONNREFUSED");
    assert.ok(outside.v6 === "ECONNREFUSED" || outside.v6 === "EADDRNOTAVAIL", outside.v6);
    assert.is(outside.sysctlWrite, "ok");
    // Only the process inside was seen: three IPv4 connects (two refused), one IPv6.
    assert.is(t.count(SLOT.CONNECT4), 3n);
    assert.is(t.count(SLOT.CONNECT4_BLOCKED), 2n);
    assert.is(t.count(SLOT.CONNECT6), 1n);
    assert.is(t.count(SLOT.SYSCTL_DENIED), 1n);
    assert.ok(t.count(SLOT.SYSCTL_READ) >= 1n);
    assert.ok(t.count(SLOT.SOCK_CREATE) >= 4n, `sock_create ${t.count(SLOT.SOCK_CREATE)}`);
    if (haveTool("bpftool")) {
      const shown = spawnSync("bpftool", ["cgroup", "show", t.cg.path], { encoding: "utf8" }).stdout;
      for (const name of ["block_connect4", "block_connect6", "sysctl_ro", "sock_create"])
        assert.match(shown, name);
    }
    for (const l of links) l?.close();
    const after = runChild(t.cg, t.allowed, t.blocked);
    assert.is(after.blocked, "ok", "detached");
    assert.is(t.count(SLOT.CONNECT4), 3n);
  } finally {
    await t.close();
  }
});

test("BPF_PROG_ATTACH (the pre-5.7 way): attached with ALLOW_MULTI, refused inside, detached on close", async () => {
  if (!privileged("cgroup prog_attach")) return;
  const t = await setup();
  try {
    const link = t.coll.programs.block_connect4?.attach({ cgroup: t.cg.path, method: "prog_attach" });
    assert.is(link?.method, "prog_attach");
    assert.not.ok(link?.isBpfLink);
    if (haveTool("bpftool")) {
      const shown = spawnSync("bpftool", ["cgroup", "show", t.cg.path], { encoding: "utf8" }).stdout;
      assert.match(shown, /(cgroup_inet4_)?connect4?\s+multi\s+block_connect4/, shown);
    }
    assert.is(runChild(t.cg, t.allowed, t.blocked).blocked, "EPERM");
    link?.close();
    if (haveTool("bpftool")) {
      const shown = spawnSync("bpftool", ["cgroup", "show", t.cg.path], { encoding: "utf8" }).stdout;
      assert.not.match(shown, "block_connect4");
    }
    assert.is(runChild(t.cg, t.allowed, t.blocked).blocked, "ok");
  } finally {
    await t.close();
  }
});

test("cgroup_skb counts the packets of the process inside, in a counter and in cgroup storage; sk_storage holds what connect4 saw", async () => {
  if (!privileged("cgroup_skb")) return;
  const t = await setup();
  try {
    const p = t.coll.programs;
    const eg = p.skb_egress?.attach({ cgroup: t.cg.path });
    const ing = p.skb_ingress?.attach({ cgroup: t.cg.path });
    const c4 = p.block_connect4?.attach({ cgroup: t.cg.path });
    runChild(undefined, t.allowed, t.blocked);
    assert.is(t.count(SLOT.SKB_EGRESS), 0n, "nothing from outside the cgroup");
    runChild(t.cg, t.allowed, t.blocked);
    const egress = t.count(SLOT.SKB_EGRESS);
    const ingress = t.count(SLOT.SKB_INGRESS);
    assert.ok(egress >= 2n, `egress ${egress}`);
    assert.ok(ingress >= 2n, `ingress ${ingress}`);
    // struct bpf_cgroup_storage_key { cgroup_inode_id; attach_type }: one slot per hook.
    const store = t.coll.maps.cg_packets;
    assert.is(store?.lookup({ cgroup_inode_id: t.cg.id, attach_type: 1 }), egress);
    assert.is(store?.lookup({ cgroup_inode_id: t.cg.id, attach_type: 0 }), ingress);
    // sk_storage: keyed by a socket fd of this process, so connect from here, inside the cgroup.
    t.cg.enter();
    const fd = socket(AF_INET, SOCK_STREAM, 0);
    try {
      connect(fd, sockaddrIn("127.0.0.1", t.allowed));
    } finally {
      t.cg.leave();
    }
    try {
      assert.equal(t.coll.maps.connect_seen?.lookup(fd), {
        dst_ip: 0x0100007f,
        dst_port: t.allowed,
        verdict: 1,
      });
    } finally {
      closeSock(fd);
    }
    for (const l of [eg, ing, c4]) l?.close();
  } finally {
    await t.close();
  }
});

test.run();
