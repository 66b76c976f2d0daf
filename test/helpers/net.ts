// Network test beds: two network namespaces made by the test, joined by a veth pair,
// and UDP sockets made inside them with raw syscalls (synchronous, so they can be
// made inside inNetns). Names are unique per process (tsbpf-net-<pid>-<n>), and
// everything is deleted by close(), which tests call in finally.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { mountPointsOf } from "../../src/sys/fs.ts";
import {
  AF_INET,
  bind,
  close,
  inNetns,
  MSG_DONTWAIT,
  recv,
  SOCK_DGRAM,
  sendto,
  socket,
} from "../../src/sys/socket.ts";

let serial = 0;
const uid = () => `${process.pid}-${serial++}`;

function ip(args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

/** struct sockaddr_in for a dotted IPv4 address and port. */
export function sockaddrIn(addr: string, port: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET, true);
  dv.setUint16(2, port, false);
  addr.split(".").forEach((o, i) => {
    b[4 + i] = Number(o);
  });
  return b;
}

export interface VethBed {
  /** /run/netns/<name> of each side. */
  nsA: string;
  nsB: string;
  /** veth ends: ifA in nsA (10.77.0.1), ifB in nsB (10.77.0.2). */
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
  close(): void;
}

/** Two namespaces joined by a veth pair, both ends up and addressed. */
export function vethBed(): VethBed {
  const id = uid();
  const a = `tsbpf-net-${id}-a`;
  const b = `tsbpf-net-${id}-b`;
  const bed: VethBed = {
    nsA: `/run/netns/${a}`,
    nsB: `/run/netns/${b}`,
    ifA: "veth-a",
    ifB: "veth-b",
    ipA: "10.77.0.1",
    ipB: "10.77.0.2",
    close() {
      for (const ns of [a, b]) spawnSync("ip", ["netns", "del", ns]);
    },
  };
  try {
    ip(["netns", "add", a]);
    ip(["netns", "add", b]);
    ip(["link", "add", bed.ifA, "netns", a, "type", "veth", "peer", "name", bed.ifB, "netns", b]);
    ip(["-n", a, "addr", "add", `${bed.ipA}/24`, "dev", bed.ifA]);
    ip(["-n", b, "addr", "add", `${bed.ipB}/24`, "dev", bed.ifB]);
    for (const [ns, dev] of [
      [a, bed.ifA],
      [b, bed.ifB],
    ] as const) {
      ip(["-n", ns, "link", "set", dev, "up"]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
    }
  } catch (e) {
    bed.close();
    throw e;
  }
  return bed;
}

/** A UDP socket bound to addr:port inside `ns` (non-blocking reads via recv). */
export function udpSocket(ns: string, addr: string, port: number): number {
  return inNetns(ns, () => {
    const fd = socket(AF_INET, SOCK_DGRAM, 0, "test UDP socket");
    try {
      bind(fd, sockaddrIn(addr, port));
    } catch (e) {
      close(fd);
      throw e;
    }
    return fd;
  });
}

export function sendUdp(fd: number, addr: string, port: number, payload: Uint8Array, times = 1): void {
  const to = sockaddrIn(addr, port);
  for (let i = 0; i < times; i++) sendto(fd, payload, to);
}

/** Datagrams waiting on `fd`, collected until `expect` arrive or `ms` pass. */
export async function drainUdp(fd: number, expect: number, ms = 1500): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  const buf = new Uint8Array(2048);
  const until = Date.now() + ms;
  for (;;) {
    const n = recv(fd, buf, MSG_DONTWAIT);
    if (n >= 0) {
      got.push(buf.slice(0, n));
      continue;
    }
    if (got.length >= expect || Date.now() > until) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface TestCgroup {
  path: string;
  /** cgroup id (the directory's inode on cgroup v2). */
  id: bigint;
  /** Moves this process into the cgroup / back to where it was. */
  enter(): void;
  leave(): void;
  close(): void;
}

/** Creates the cgroup directory and returns it. */
export function makeCgroup(): TestCgroup {
  const root = mountPointsOf("cgroup2")[0];
  if (!root) throw new Error("no cgroup2 mount");
  const path = `${root}/tsbpf-net-${uid()}`;
  mkdirSync(path);
  const own = /^0::(.*)$/m.exec(readFileSync("/proc/self/cgroup", "utf8"))?.[1] ?? "/";
  const home = `${root}${own === "/" ? "" : own}`;
  return {
    path,
    id: statSync(path, { bigint: true }).ino,
    enter() {
      writeFileSync(`${path}/cgroup.procs`, String(process.pid));
    },
    leave() {
      writeFileSync(`${home}/cgroup.procs`, String(process.pid));
    },
    close() {
      // Move anything left (our own process, a stray child) out first.
      try {
        for (const pid of readFileSync(`${path}/cgroup.procs`, "utf8").split("\n").filter(Boolean))
          writeFileSync(`${home}/cgroup.procs`, pid);
      } catch {}
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(path);
          return;
        } catch {}
        spawnSync("sleep", ["0.05"]);
      }
    },
  };
}
