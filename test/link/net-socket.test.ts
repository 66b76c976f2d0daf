// Socket-level programs of net.bpf.o: a socket filter on a Node UDP socket (datagrams
// longer than filter_max_len never reach it), sk_lookup steering connections for an
// unused port to a listening socket stored in a sockmap, and sk_msg counting the
// messages sent on a TCP socket stored in a sockhash.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Collection, loadCollection } from "../../src/loader/collection.ts";
import { privileged, ROOT_DIR } from "../helpers/env.ts";

const OBJ = join(ROOT_DIR, "test/fixtures/net.bpf.o");
const SLOT = { SOCKET_PASS: 13, SOCKET_DROP: 14, SK_LOOKUP: 15, SK_MSG: 16 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function udp(): Promise<{ sock: UdpSocket; port: number; got: Buffer[] }> {
  const sock = createSocket("udp4");
  const got: Buffer[] = [];
  sock.on("message", (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  return { sock, port: sock.address().port, got };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("socket filter on a Node UDP socket: long datagrams are dropped before they reach it", async () => {
  if (!privileged("socket filter")) return;
  const coll: Collection = await loadCollection(OBJ);
  const rx = await udp();
  const tx = createSocket("udp4");
  try {
    const link = coll.programs.sock_filter?.attach({ socket: rx.sock as never });
    assert.is(link?.method, "setsockopt");
    const send = async (msg: string) => {
      await new Promise<void>((r, j) => tx.send(msg, rx.port, "127.0.0.1", (e) => (e ? j(e) : r())));
    };
    for (let i = 0; i < 3; i++) await send(`short-${i}`);
    for (let i = 0; i < 3; i++) await send(`long-${i}-${"x".repeat(100)}`);
    for (let i = 0; i < 50 && rx.got.length < 3; i++) await sleep(20);
    await sleep(100);
    assert.equal(
      rx.got.map((b) => b.toString()),
      ["short-0", "short-1", "short-2"],
    );
    const count = (s: number) => coll.maps.counts?.lookup(s);
    assert.is(count(SLOT.SOCKET_PASS), 3n);
    assert.is(count(SLOT.SOCKET_DROP), 3n);
    link?.close();
    await send(`long-after-${"x".repeat(100)}`);
    for (let i = 0; i < 50 && rx.got.length < 4; i++) await sleep(20);
    assert.is(rx.got.length, 4, "detached: the long datagram arrives");
    assert.is(count(SLOT.SOCKET_DROP), 3n);
  } finally {
    tx.close();
    rx.sock.close();
    coll.close();
  }
});

test("sk_lookup steers connections to an unused port to the listening socket in a sockmap", async () => {
  if (!privileged("sk_lookup")) return;
  const coll: Collection = await loadCollection(OBJ);
  const accepted: Socket[] = [];
  const server: Server = createServer((s) => {
    accepted.push(s);
    s.end("steered");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    coll.maps.sk_target?.update(0, fd);
    const steerPort = await freePort();
    (coll.globals.bss as Record<string, unknown>).steer_port = steerPort;
    const link = coll.programs.steer?.attach();
    assert.is(link?.kind, "sk_lookup");
    assert.ok(link?.isBpfLink);
    const reply = await new Promise<string>((resolve, reject) => {
      const c = createConnection({ port: steerPort, host: "127.0.0.1" });
      let data = "";
      c.on("data", (d) => {
        data += d;
      });
      c.on("end", () => resolve(data));
      c.on("error", reject);
    });
    assert.is(reply, "steered");
    assert.is(accepted.length, 1);
    assert.is(coll.maps.counts?.lookup(SLOT.SK_LOOKUP), 1n);
    link?.close();
    const err = await new Promise<string>((resolve) => {
      const c = createConnection({ port: steerPort, host: "127.0.0.1" });
      c.on("connect", () => {
        c.destroy();
        resolve("connected");
      });
      c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    assert.is(err, "ECONNREFUSED", "detached: nothing listens on the port");
  } finally {
    await new Promise((r) => server.close(r));
    coll.close();
  }
});

test("sk_msg on a sockhash counts each message sent on a socket in the map", async () => {
  if (!privileged("sk_msg")) return;
  const coll: Collection = await loadCollection(OBJ);
  let received = "";
  const server: Server = createServer((s) => {
    s.on("data", (d) => {
      received += d;
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = createConnection({ port: (server.address() as { port: number }).port, host: "127.0.0.1" });
  try {
    await new Promise<void>((r) => client.on("connect", () => r()));
    const map = coll.maps.sock_hash;
    const link = coll.programs.msg_count?.attach({ mapFd: map?.fd as number, mapName: "sock_hash" });
    assert.is(link?.kind, "sockmap");
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    map?.update(1, fd);
    for (const m of ["one", "two", "three"]) {
      await new Promise<void>((r) => client.write(m, () => r()));
      await sleep(20);
    }
    for (let i = 0; i < 50 && received.length < 11; i++) await sleep(20);
    assert.is(received, "onetwothree");
    assert.is(coll.maps.counts?.lookup(SLOT.SK_MSG), 3n);
    link?.close();
  } finally {
    client.destroy();
    await new Promise((r) => server.close(r));
    coll.close();
  }
});

test.run();
