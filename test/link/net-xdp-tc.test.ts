// XDP and tc on a veth pair between two namespaces made by the test: UDP datagrams
// from A to B go through the programs of net.bpf.o, which count them and drop them on
// request. Each attach method is checked: bpf_link (XDP, tcx) and netlink (IFLA_XDP,
// cls_bpf in a clsact qdisc), and detaching really removes the program.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AttachError } from "../../src/link/link.ts";
import { parentFor } from "../../src/link/tc.ts";
import { type Collection, loadCollection } from "../../src/loader/collection.ts";
import { withNetlink } from "../../src/netlink/conn.ts";
import { getLinkXdp, listFilters } from "../../src/netlink/route.ts";
import { close as closeSock, ifNameToIndex, inNetns } from "../../src/sys/socket.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";
import { drainUdp, sendUdp, udpSocket, type VethBed, vethBed } from "../helpers/net.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/net.bpf.o");
const PORT = 4242;
const SLOT = { XDP: 0, XDP_DROPPED: 1, TC_INGRESS: 2, TC_EGRESS: 3, TC_LEGACY: 4 };

/** iproute2's tc inside a namespace of the bed (a test-only oracle). */
function tc(ns: string, args: string[]): string {
  const name = ns.replace("/run/netns/", "");
  return spawnSync("ip", ["netns", "exec", name, "tc", ...args], { encoding: "utf8" }).stdout;
}

interface Bed {
  bed: VethBed;
  coll: Collection;
  tx: number;
  rx: number;
  count(slot: number): bigint;
  /** Sends n datagrams A -> B:PORT and returns how many arrived. */
  send(n: number): Promise<number>;
  close(): void;
}

async function setup(): Promise<Bed> {
  const bed = vethBed();
  let coll: Collection | undefined;
  try {
    coll = await loadCollection(OBJ);
    (coll.globals.bss as Record<string, unknown>).udp_port = PORT;
    const tx = udpSocket(bed.nsA, bed.ipA, 0);
    const rx = udpSocket(bed.nsB, bed.ipB, PORT);
    const c = coll;
    return {
      bed,
      coll: c,
      tx,
      rx,
      count: (slot) => c.maps.counts?.lookup(slot) as bigint,
      async send(n) {
        sendUdp(tx, bed.ipB, PORT, new TextEncoder().encode("hello"), n);
        return (await drainUdp(rx, n, 1500)).length;
      },
      close() {
        closeSock(tx);
        closeSock(rx);
        c.close();
        bed.close();
      },
    };
  } catch (e) {
    coll?.close();
    bed.close();
    throw e;
  }
}

test("XDP through a bpf_link (generic mode): counts every datagram, then drops them", async () => {
  if (!privileged("XDP attach")) return;
  const t = await setup();
  try {
    const link = t.coll.programs.xdp_udp?.attach({ iface: t.bed.ifB, netns: t.bed.nsB, mode: "generic" });
    assert.ok(link?.isBpfLink);
    assert.is(link?.kind, "xdp");
    assert.match(link?.target ?? "", /veth-b \(ifindex \d+\) in \/run\/netns\//);
    assert.is(await t.send(10), 10, "all pass while xdp_drop = 0");
    assert.is(t.count(SLOT.XDP), 10n);
    (t.coll.globals.bss as Record<string, unknown>).xdp_drop = 1;
    assert.is(await t.send(7), 0, "none arrive while xdp_drop = 1");
    assert.is(t.count(SLOT.XDP), 17n);
    assert.is(t.count(SLOT.XDP_DROPPED), 7n);
    // The kernel reports our program on the interface, in generic (skb) mode.
    const prog = t.coll.programs.xdp_udp?.info().id;
    const state = inNetns(t.bed.nsB, () => withNetlink((c) => getLinkXdp(c, ifNameToIndex(t.bed.ifB))));
    assert.is(state.skbProgId, prog);
    link?.close();
    assert.is(await t.send(3), 3, "detached: traffic flows again");
    assert.is(t.count(SLOT.XDP), 17n);
  } finally {
    t.close();
  }
});

test("XDP over netlink (IFLA_XDP): attached, counted, removed on close", async () => {
  if (!privileged("XDP netlink")) return;
  const t = await setup();
  try {
    const link = t.coll.programs.xdp_udp?.attach({
      iface: t.bed.ifB,
      netns: t.bed.nsB,
      mode: "generic",
      method: "netlink",
    });
    assert.is(link?.method, "netlink");
    assert.not.ok(link?.isBpfLink);
    assert.throws(() => link?.pin("/sys/fs/bpf/never"), /not a bpf_link/);
    const ifindex = inNetns(t.bed.nsB, () => ifNameToIndex(t.bed.ifB));
    const before = inNetns(t.bed.nsB, () => withNetlink((c) => getLinkXdp(c, ifindex)));
    assert.is(before.skbProgId, t.coll.programs.xdp_udp?.info().id);
    assert.is(await t.send(5), 5);
    assert.is(t.count(SLOT.XDP), 5n);
    link?.close();
    const after = inNetns(t.bed.nsB, () => withNetlink((c) => getLinkXdp(c, ifindex)));
    assert.is(after.skbProgId, 0, "IFLA_XDP removed on close");
    assert.is(await t.send(2), 2);
    assert.is(t.count(SLOT.XDP), 5n);
  } finally {
    t.close();
  }
});

test("a second XDP program on the same interface is a clear AttachError", async () => {
  if (!privileged("XDP busy")) return;
  const t = await setup();
  try {
    const first = t.coll.programs.xdp_udp?.attach({ iface: t.bed.ifB, netns: t.bed.nsB, mode: "generic" });
    const frags = await loadCollection(join(ROOT_DIR, "test/fixtures/frags.bpf.o"));
    const err = (() => {
      try {
        frags.programs.xdp_frags_pass?.attach({ iface: t.bed.ifB, netns: t.bed.nsB, mode: "generic" });
      } catch (e) {
        return e as Error;
      } finally {
        frags.close();
      }
    })();
    assert.instance(err, AttachError);
    assert.match(err?.message ?? "", /already attached/);
    first?.close();
    assert.throws(
      () => t.coll.programs.xdp_udp?.attach({ iface: "nosuchif0", netns: t.bed.nsB }),
      /no network interface named 'nosuchif0' in \/run\/netns\//,
    );
    assert.throws(() => t.coll.programs.xdp_udp?.attach(), /attaches to a network interface; none was given/);
  } finally {
    t.close();
  }
});

test("tcx ingress and egress links count both directions; ingress drops on request", async () => {
  if (!privileged("tcx attach")) return;
  const t = await setup();
  try {
    const inLink = t.coll.programs.tc_in?.attach({ iface: t.bed.ifB, netns: t.bed.nsB });
    const outLink = t.coll.programs.tc_out?.attach({ iface: t.bed.ifA, netns: t.bed.nsA });
    assert.is(inLink?.kind, "tcx");
    assert.ok(inLink?.isBpfLink && outLink?.isBpfLink);
    assert.is(await t.send(8), 8);
    assert.is(t.count(SLOT.TC_EGRESS), 8n, "egress on veth-a");
    assert.is(t.count(SLOT.TC_INGRESS), 8n, "ingress on veth-b");
    (t.coll.globals.bss as Record<string, unknown>).tc_drop = 1;
    assert.is(await t.send(4), 0, "TC_ACT_SHOT at ingress");
    assert.is(t.count(SLOT.TC_INGRESS), 12n);
    inLink?.close();
    outLink?.close();
    assert.is(await t.send(2), 2);
    assert.is(t.count(SLOT.TC_EGRESS), 12n);
  } finally {
    t.close();
  }
});

test("cls_bpf over netlink: clsact qdisc + bpf filter, counted, filter and qdisc removed on close", async () => {
  if (!privileged("cls_bpf attach")) return;
  const t = await setup();
  try {
    const link = t.coll.programs.tc_any?.attach({ iface: t.bed.ifB, netns: t.bed.nsB, direction: "ingress" });
    assert.is(link?.kind, "tc");
    assert.is(link?.method, "netlink");
    const ifindex = inNetns(t.bed.nsB, () => ifNameToIndex(t.bed.ifB));
    const filters = inNetns(t.bed.nsB, () =>
      withNetlink((c) => listFilters(c, ifindex, parentFor("ingress"))),
    );
    assert.is(filters.length, 1);
    assert.is(filters[0]?.kind, "bpf");
    assert.is(filters[0]?.progId, t.coll.programs.tc_any?.info().id);
    assert.is(filters[0]?.name, "tc_any");
    // iproute2's view (an oracle we did not write): our filter, in direct-action mode.
    const shown = tc(t.bed.nsB, ["filter", "show", "dev", t.bed.ifB, "ingress"]);
    assert.match(shown, /bpf .*tc_any.* direct-action/);
    assert.match(tc(t.bed.nsB, ["qdisc", "show", "dev", t.bed.ifB]), "clsact");
    assert.is(await t.send(6), 6);
    assert.is(t.count(SLOT.TC_LEGACY), 6n);
    // A tc/ingress program forced onto the netlink path too (the fallback of tcx).
    const viaNetlink = t.coll.programs.tc_in?.attach({
      iface: t.bed.ifB,
      netns: t.bed.nsB,
      method: "netlink",
    });
    assert.is(viaNetlink?.method, "netlink");
    assert.is(await t.send(3), 3);
    assert.is(t.count(SLOT.TC_INGRESS), 3n);
    viaNetlink?.close();
    link?.close();
    const left = inNetns(t.bed.nsB, () => withNetlink((c) => listFilters(c, ifindex, parentFor("ingress"))));
    assert.is(left.length, 0);
    assert.not.match(
      tc(t.bed.nsB, ["qdisc", "show", "dev", t.bed.ifB]),
      "clsact",
      "qdisc we created is gone",
    );
    assert.is(await t.send(2), 2);
    assert.is(t.count(SLOT.TC_LEGACY), 6n);
  } finally {
    t.close();
  }
});

test.run();
