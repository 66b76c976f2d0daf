// The map types network programs use, created from net.bpf.o and updated with real
// targets, read back from the kernel: devmap (an interface + an xdp/devmap program),
// cpumap (a queue size + an xdp/cpumap program), xskmap (an AF_XDP socket bound to a
// veth queue), sockmap and sockhash (a listening and a connected TCP socket). LPM
// tries, cgroup storage and sk_storage are exercised with traffic in
// test/link/net-cgroup.test.ts.
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadCollection } from "../../src/loader/collection.ts";
import { close as closeSock, ifNameToIndex, inNetns } from "../../src/sys/socket.ts";
import { XdpSocket } from "../../src/sys/xsk.ts";
import { BPF_MAP_TYPE } from "../../src/uapi.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";
import { udpSocket, vethBed } from "../helpers/net.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/net.bpf.o");

test("devmap and cpumap take typed values with a program fd; the kernel answers with its id", async () => {
  if (!privileged("devmap/cpumap")) return;
  const coll = await loadCollection(OBJ);
  try {
    const tx = coll.maps.tx_ports;
    const cpus = coll.maps.cpus;
    assert.is(tx?.info().type, BPF_MAP_TYPE.DEVMAP);
    assert.is(cpus?.info().type, BPF_MAP_TYPE.CPUMAP);
    const devProg = coll.programs.xdp_devmap_prog;
    tx?.update(0, { ifindex: 1, bpf_prog: { fd: devProg?.fd } });
    const dv = tx?.lookup(0) as { ifindex: number; bpf_prog: { id: number } };
    assert.is(dv.ifindex, 1);
    assert.is(dv.bpf_prog.id, devProg?.info().id);
    const cpuProg = coll.programs.xdp_cpumap_prog;
    cpus?.update(0, { qsize: 128, bpf_prog: { fd: cpuProg?.fd } });
    const cv = cpus?.lookup(0) as { qsize: number; bpf_prog: { id: number } };
    assert.is(cv.qsize, 128);
    assert.is(cv.bpf_prog.id, cpuProg?.info().id);
    // An ordinary XDP program is refused as a devmap entry program (wrong expected attach type).
    assert.throws(() => tx?.update(1, { ifindex: 1, bpf_prog: { fd: coll.programs.xdp_udp?.fd } }));
    assert.ok(tx?.delete(0));
  } finally {
    coll.close();
  }
});

test("xskmap takes an AF_XDP socket bound to a veth queue", async () => {
  if (!privileged("xskmap")) return;
  const bed = vethBed();
  const coll = await loadCollection(OBJ);
  try {
    const xsk = inNetns(bed.nsB, () => new XdpSocket({ ifindex: ifNameToIndex(bed.ifB), queue: 0 }));
    try {
      coll.maps.xsks?.update(0, xsk.fd);
      // The kernel checks what it is given: a socket that is not AF_XDP is refused.
      const udp = udpSocket(bed.nsB, bed.ipB, 0);
      try {
        assert.throws(() => coll.maps.xsks?.update(1, udp), /EOPNOTSUPP|ENOTSUPP|EINVAL/);
      } finally {
        closeSock(udp);
      }
      assert.ok(coll.maps.xsks?.delete(0));
    } finally {
      xsk.close();
    }
  } finally {
    coll.close();
    bed.close();
  }
});

test("sockmap takes a listening socket, sockhash a connected one", async () => {
  if (!privileged("sockmap")) return;
  const coll = await loadCollection(OBJ);
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = createConnection({ port: (server.address() as { port: number }).port, host: "127.0.0.1" });
  await new Promise<void>((r) => client.on("connect", () => r()));
  try {
    const fdOf = (s: object) => (s as { _handle: { fd: number } })._handle.fd;
    coll.maps.sk_target?.update(0, fdOf(server));
    coll.maps.sock_hash?.update(7, fdOf(client));
    // User space reads back the socket cookie, not the fd.
    const cookie = coll.maps.sock_hash?.lookup(7) as bigint;
    assert.ok(typeof cookie === "bigint" && cookie > 0n, String(cookie));
    assert.ok(coll.maps.sock_hash?.delete(7));
    assert.ok(coll.maps.sk_target?.delete(0));
  } finally {
    client.destroy();
    await new Promise((r) => server.close(r));
    coll.close();
  }
});

test.run();
