// tsx bench/tracer-path.ts [--rounds N] [--reps R] — the tracer's user-space per-event
// path without the kernel: synthetic fork+exit records (a fork storm's, built with the
// object's own BTF) go through the same steps as `tsbpf trace --json -o /dev/null`:
// decode (bpf-decode.ts) → process table (apply, prune once per simulated second) →
// EventWriter and Summary (JSON line, batched write; counts), in batches of 16 records with an
// event-loop turn between batches (as a ring-buffer drain hands them out). Prints CPU
// µs per event (process CPU, all threads: includes GC helpers) and the heap after.
// Run under the bench lock: flock /tmp/tsbpf-bench.lock npx tsx bench/tracer-path.ts
// --heap: one more rep under the inspector's sampling heap profiler (every 4 KiB
// allocated), printing bytes allocated per event by function (what feeds the GC).
// --gc: scavenges and mark-compacts per 10k events (PerformanceObserver "gc").
import { readFileSync } from "node:fs";
import { Session } from "node:inspector";
import { PerformanceObserver } from "node:perf_hooks";
import type { Btf } from "../src/btf/btf.ts";
import { makeCodec } from "../src/btf/codec.ts";
import { readCollectionSpec } from "../src/elf/collection.ts";
import { EV, makeRecordDecoder } from "../src/tracker/bpf-decode.ts";
import { EventWriter } from "../src/tracker/output.ts";
import { ProcessTable } from "../src/tracker/process-table.ts";
import { Summary } from "../src/tracker/summary.ts";
import { argValue, median } from "./lib.ts";

const args = process.argv.slice(2);
const ROUNDS = Number(argValue("--rounds", "60000"));
const REPS = Number(argValue("--reps", "3"));
const RATE = 6000; // simulated forks per second
const BATCH = 16;

const obj = new URL("../bpf/process.bpf.o", import.meta.url);
const spec = readCollectionSpec(new Uint8Array(readFileSync(obj)), "process.bpf.o");
const btf = spec.btf as Btf;
const codec = (n: string) => makeCodec(btf, btf.findByNameKind(n, "struct")[0] as number);
const fork = codec("tsbpf_fork_event");
const exit = codec("tsbpf_exit_event");
const comm = new Uint8Array(16);
comm.set(new TextEncoder().encode("fork"));

const nowNs = BigInt(Date.now()) * 1_000_000n;
const bootNs = 10_000n * 1_000_000_000n; // 10000 s of uptime
const offset = nowNs - bootNs;
const storm = 4242; // the forking process

/** One round's records (fork, then the child's exit) at simulated time t (ns after start). */
function roundRecords(i: number): Uint8Array {
  const t = bootNs + BigInt(Math.round((i / RATE) * 1e9));
  const child = 100_000 + (i % 300_000);
  const hdr = (type: number, size: number, pid: number, ppid: number, eid: bigint, peid: bigint) => ({
    ts_boot_ns: t,
    cgroup_id: 1234n,
    exec_id: eid,
    parent_exec_id: peid,
    type,
    size,
    pid,
    tid: pid,
    ppid,
    uid: 0,
    gid: 0,
    euid: 0,
    pidns_ino: 4026531836,
    ns_pid: pid,
    ns_tid: pid,
    cpu: 1,
    comm,
  });
  const out = new Uint8Array(fork.size + exit.size);
  const childEid = t;
  fork.encode(
    {
      hdr: hdr(EV.FORK, fork.size, child, storm, childEid, 5_000_000_000n),
      parent_pid: storm,
      parent_tid: storm,
    },
    out.subarray(0, fork.size),
  );
  exit.encode(
    {
      hdr: hdr(EV.EXIT, exit.size, child, storm, childEid, 5_000_000_000n),
      lifetime_ns: 50_000n,
      status: 0,
      flags: 0,
      exit_signal: 17,
      _reserved: 0,
    },
    out.subarray(fork.size),
  );
  return out;
}

// Pre-built so that record building is not measured: one buffer of every round.
const per = fork.size + exit.size;
const all = new Uint8Array(per * ROUNDS);
for (let i = 0; i < ROUNDS; i++) all.set(roundRecords(i), i * per);
const dv = new DataView(all.buffer);

async function once(): Promise<{ usPerEvent: number; heapMb: number; tableSize: number }> {
  const table = new ProcessTable();
  table.upsert({ pid: storm, ppid: 1, exec_id: "4242-500", comm: "fork" });
  const dec = makeRecordDecoder(btf, { bootToRealtimeNs: offset, parentOf: (p) => table.get(p) });
  const out = new EventWriter({ path: "/dev/null" }, { format: "json", startedAt: Date.now() });
  const summary = new Summary(table);
  let nextPrune = 1;
  const c0 = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i += BATCH / 2) {
    const end = Math.min(ROUNDS, i + BATCH / 2);
    for (let r = i; r < end; r++) {
      const ev1 = dec.decode(dv, r * per, fork.size);
      if (ev1) {
        table.apply(ev1);
        out.write(ev1);
        summary.write(ev1);
      }
      const ev2 = dec.decode(dv, r * per + fork.size, exit.size);
      if (ev2) {
        table.apply(ev2);
        if (ev2.event === "exit") table.describeExit(ev2);
        out.write(ev2);
        summary.write(ev2);
      }
    }
    if (end / RATE >= nextPrune) {
      table.prune(Number((nowNs + BigInt(Math.round((end / RATE) * 1e9))) / 1_000_000n));
      nextPrune++;
    }
    await new Promise((r) => setImmediate(r));
  }
  out.end();
  const c = process.cpuUsage(c0);
  return {
    usPerEvent: (c.user + c.system) / (2 * ROUNDS),
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
    tableSize: table.size,
  };
}

let gcMinor = 0;
let gcMajor = 0;
let gcMs = 0;
if (args.includes("--gc"))
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      // perf_hooks constants: NODE_PERFORMANCE_GC_MINOR = 1, MAJOR = 4.
      if (kind === 1) gcMinor++;
      else gcMajor++;
      gcMs += e.duration;
    }
  }).observe({ entryTypes: ["gc"] });

const runs: number[] = [];
for (let r = 0; r < REPS; r++) {
  const g0 = [gcMinor, gcMajor, gcMs];
  const x = await once();
  runs.push(x.usPerEvent);
  console.error(
    `rep ${r}: ${x.usPerEvent.toFixed(2)} µs/event, heap ${x.heapMb.toFixed(1)} MB, table ${x.tableSize}` +
      (args.includes("--gc")
        ? `, per 10k events: ${(((gcMinor - (g0[0] as number)) / (2 * ROUNDS)) * 1e4).toFixed(1)} scavenges,` +
          ` ${(((gcMajor - (g0[1] as number)) / (2 * ROUNDS)) * 1e4).toFixed(2)} full GCs,` +
          ` ${(((gcMs - (g0[2] as number)) / (2 * ROUNDS)) * 1e4).toFixed(1)} ms in GC pauses`
        : ""),
  );
}

if (args.includes("--heap")) {
  const insp = new Session();
  insp.connect();
  const post = (m: string, p?: object) =>
    new Promise<unknown>((res, rej) => insp.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    // Without these the profile holds only what is still alive at the end.
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await once();
  const { profile } = (await post("HeapProfiler.stopSampling")) as { profile: { head: HeapNode } };
  const self = new Map<string, number>();
  const walk = (n: HeapNode) => {
    const f = n.callFrame;
    const k = `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/(src|bench|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
    let bytes = 0;
    for (const s of n.selfSize ? [n.selfSize] : []) bytes += s;
    self.set(k, (self.get(k) ?? 0) + bytes);
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`sampled allocation: ${(total / (2 * ROUNDS)).toFixed(0)} bytes/event`);
  for (const [k, b] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`${(b / (2 * ROUNDS)).toFixed(0).padStart(6)} B/event  ${k}`);
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}
console.log(`median ${median(runs).toFixed(2)} µs/event (CPU, all threads), ${ROUNDS} rounds × ${REPS}`);
