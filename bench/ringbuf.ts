// bench:ringbuf — ring-buffer consumption throughput, tsbpf vs libbpf, on the same
// producer object (test/fixtures/ringbuf.bpf.o, program `bench`: bpf_loop emitting
// fixed-size records through bpf_ringbuf_reserve/submit).
//
// Method (identical for both peers): a 64 MiB ring; per batch, BPF_PROG_TEST_RUN runs
// the producer, which fills the ring with BATCH records (fewer than fit, so none is
// lost); then the consumer drains it (poll with timeout 0 until empty) and ONLY the drain
// is timed. Both decode 4 fields per record (seq u64, ts u64, pid u32, cpu u32; tsbpf
// locates them in the object's BTF, the C peer through its struct) and sum
// them. Runs alternate tsbpf / libbpf; figures are medians. The libbpf peer is
// bench/ringbuf/consumer.c, built here with gcc against Debian's libbpf-dev.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compileConsumeLoop } from "../src/binary/consume-loop.ts";
import type { Btf } from "../src/btf/btf.ts";
import { RingBufReader } from "../src/ringbuf/reader.ts";
import { OBJECT, Producers } from "../test/ringbuf/producers.ts";
import { appendResult, argValue, median, table } from "./lib.ts";
import { measureWakeup, type Strategy, type TriggerMode, type WakeupResult } from "./ringbuf/wakeup.ts";

const RING = 64 << 20;
// Iteration knobs (the published run uses the defaults): --runs N, --size 64|512 (only
// that record size), --no-wakeup (skip the wakeup bench), --no-append.
const RUNS = Number(argValue("--runs") ?? 7);
const ALL_SIZES = [
  { size: 64, batch: 800_000, batches: 3 },
  { size: 512, batch: 120_000, batches: 3 },
];
const SIZES = argValue("--size") ? ALL_SIZES.filter((s) => s.size === Number(argValue("--size"))) : ALL_SIZES;
const QUICK = process.argv.includes("--no-wakeup");
/** Wakeup bench (bench/ringbuf/wakeup.ts): alternating rounds of WAKE_MS per strategy and mode. */
const WAKE_ROUNDS = 3;
const WAKE_MS = 1500;
const WAKE_INTERVAL_US = 1000;
const here = fileURLToPath(new URL(".", import.meta.url));
const outDir = `${here}out`;
const peer = `${outDir}/ringbuf-consumer`;
const trigger = `${outDir}/ringbuf-trigger`;

function buildPeer(): void {
  mkdirSync(outDir, { recursive: true });
  execFileSync("gcc", ["-O2", "-Wall", "-o", peer, `${here}ringbuf/consumer.c`, "-lbpf"], {
    stdio: "inherit",
  });
  execFileSync("gcc", ["-O2", "-Wall", "-o", trigger, `${here}ringbuf/trigger.c`], { stdio: "inherit" });
}

async function wakeupBench(): Promise<string> {
  const strategies: Strategy[] = ["async pool", "worker"];
  const modes: TriggerMode[] = ["periodic", "pingpong"];
  const runs = new Map<string, WakeupResult[]>();
  for (let round = 0; round < WAKE_ROUNDS; round++) {
    for (const mode of modes) {
      for (const s of round % 2 ? [...strategies].reverse() : strategies) {
        const r = await measureWakeup(trigger, s, mode, WAKE_MS, WAKE_INTERVAL_US);
        const k = `${s}|${mode}`;
        runs.set(k, [...(runs.get(k) ?? []), r]);
      }
    }
  }
  const rows: (string | number)[][] = [];
  for (const mode of modes) {
    for (const s of strategies) {
      const rs = runs.get(`${s}|${mode}`) ?? [];
      const rate = median(rs.map((r) => r.wakeups / r.seconds));
      const recs = median(rs.map((r) => r.records / r.seconds));
      const p50 = median(rs.map((r) => r.p50us));
      const p99 = median(rs.map((r) => r.p99us));
      rows.push([
        s,
        mode === "periodic" ? `periodic, 1 record / ${WAKE_INTERVAL_US} µs` : "ping-pong",
        recs.toFixed(0),
        rate.toFixed(0),
        p50.toFixed(1),
        p99.toFixed(1),
      ]);
      console.log(
        `wakeup ${s.padEnd(10)} ${mode.padEnd(8)} ${recs.toFixed(0).padStart(7)} rec/s ${rate.toFixed(0).padStart(7)} wakeups/s  latency p50 ${p50.toFixed(1)} µs  p99 ${p99.toFixed(1)} µs`,
      );
    }
  }
  return `${table(["waiting strategy", "producer", "records/s", "wakeups/s", "latency p50 µs", "latency p99 µs"], rows)}\n\nWakeup method: bench/ringbuf/trigger.c (child process) runs the \`emit_stamp\` program via BPF_PROG_TEST_RUN, one record stamped with bpf_ktime_get_ns(); latency = process.hrtime in the consumer's batch callback − stamp. periodic: one record every ${WAKE_INTERVAL_US} µs; ping-pong: the next record as soon as consumer_pos = producer_pos (so every record needs a wakeup). ${WAKE_ROUNDS} alternating rounds of ${WAKE_MS} ms each, medians.`;
}

interface Run {
  records: number;
  ns: number;
}

function runLibbpf(size: number, batch: number, batches: number): Run {
  const out = execFileSync(peer, [OBJECT, String(size), String(RING), String(batch), String(batches)], {
    encoding: "utf8",
  });
  const m = /records=(\d+) ns=(\d+) failed=(\d+)/.exec(out);
  if (!m) throw new Error(`unexpected libbpf peer output: ${out}`);
  if (m[3] !== "0") throw new Error(`libbpf run lost ${m[3]} records: ring too small for the batch`);
  return { records: Number(m[1]), ns: Number(m[2]) };
}

/**
 * tsbpf consumers, all decoding the same 4 fields:
 *  - cb: consume() with a per-record callback, the path of records(), onBatch() and the
 *    tracer: the reader's own compiled loop, into which V8 inlines the callback, so
 *    walk and decode are one pass as in libbpf; consumer_pos once per call. The
 *    headline ratio is this one;
 *  - batch: consumeBatch(): one call per batch with (offset, length) arrays and aligned
 *    u32 loads, the decode loop keeps its sum in a local; consumer_pos once per batch.
 *    Two passes over each record (header walk, then the caller's decode);
 *  - each: consumeEach(), per-record callback and consumer_pos published per record.
 */
type Mode = "batch" | "cb" | "each";
const MODES: Mode[] = ["cb", "batch", "each"];

// The 4 fields are located in the producer object's BTF (struct rb_small / rb_big, which
// share the prefix seq u64, ts u64, pid u32, cpu u32), and the decoders are generated
// from those offsets with the offsets as literals: the same loads a C compiler emits for
// the peer's struct pointer (bench/ringbuf/consumer.c), and no per-record lookup. u64s are
// read as two u32 halves (exact below 2^53) to avoid a BigInt per field.
interface Layout {
  seq: number;
  ts: number;
  pid: number;
  cpu: number;
}

/** Byte offsets of the 4 fields in `struct name`, checked for size and alignment. */
function fieldLayout(btf: Btf, name: string): Layout {
  const id = btf.findByNameKind(name, "struct")[0];
  if (id === undefined) throw new Error(`${OBJECT}: no struct ${name} in its BTF`);
  const t = btf.type(id);
  if (t.kind !== "struct") throw new Error(`${OBJECT}: ${name} is a ${t.kind}`);
  const field = (f: keyof Layout, size: number): number => {
    const m = t.members.find((x) => x.name === f);
    if (m === undefined) throw new Error(`${OBJECT}: struct ${name} has no member '${f}'`);
    if (m.bitfieldSize !== 0 || m.bitOffset % 32 !== 0 || btf.sizeof(m.type) !== size)
      throw new Error(`${OBJECT}: struct ${name} has no 4-byte-aligned ${size}-byte member '${f}'`);
    return m.bitOffset / 8;
  };
  return { seq: field("seq", 8), ts: field("ts", 8), pid: field("pid", 4), cpu: field("cpu", 4) };
}

type BatchDecoder = (v: DataView, offs: Int32Array, lens: Int32Array, count: number, w: Uint32Array) => void;
type RecordDecoder = (v: DataView, o: number) => void;

/**
 * consumeBatch's decoder: records are 8-byte aligned (see BatchCallback), so each field
 * is read as aligned u32 words; the sum stays in a local for the batch.
 * Per-record decoder for consume()/consumeEach(): its sum and count live in `acc`, a
 * Float64Array, as the C peer's are static globals (a double kept in a closure variable is
 * a boxed HeapNumber in V8, re-allocated by every +=, which measured ~2x slower per
 * record than the consumer itself once the callback is inlined into the walk).
 */
function makeDecoders(l: Layout, acc: Float64Array): { batch: BatchDecoder; record: RecordDecoder } {
  const w = (off: number) => off / 4;
  const batch = new Function(
    "acc",
    `return function decodeBatch(_v, offs, _lens, count, w) {
  let s = 0;
  for (let i = 0; i < count; i++) {
    const o = offs[i] >> 2;
    const seq = w[o + ${w(l.seq)}] + w[o + ${w(l.seq) + 1}] * 4294967296;
    const ts = w[o + ${w(l.ts)}] + w[o + ${w(l.ts) + 1}] * 4294967296;
    s += seq + ts + w[o + ${w(l.pid)}] + w[o + ${w(l.cpu)}];
  }
  acc[2] += s;
  acc[3] += count;
};`,
  )(acc) as BatchDecoder;
  const record = new Function(
    "acc",
    `return function onRecord(v, o) {
  const seq = v.getUint32(o + ${l.seq}, true) + v.getUint32(o + ${l.seq + 4}, true) * 4294967296;
  const ts = v.getUint32(o + ${l.ts}, true) + v.getUint32(o + ${l.ts + 4}, true) * 4294967296;
  acc[0] += seq + ts + v.getUint32(o + ${l.pid}, true) + v.getUint32(o + ${l.cpu}, true);
  acc[1]++;
};`,
  )(acc) as RecordDecoder;
  return { batch, record };
}

/** [cb sum, cb records, batch sum, batch records] */
const acc = new Float64Array(4);
let decodeBatch: BatchDecoder;
let onRecord: RecordDecoder;

function runTsbpf(
  p: Producers,
  r: RingBufReader,
  size: number,
  batch: number,
  batches: number,
  mode: Mode,
): Run {
  let sum = 0;
  let records = 0;
  let ns = 0;
  acc.fill(0);
  for (let b = 0; b < batches; b++) {
    p.run("bench", batch, b * batch, 0, size);
    const t0 = process.hrtime.bigint();
    if (mode === "batch") while (r.consumeBatch(decodeBatch) > 0);
    else if (mode === "cb") while (r.poll(0, onRecord) > 0);
    else while (r.consumeEach(onRecord) > 0);
    ns += Number(process.hrtime.bigint() - t0);
  }
  sum += (acc[0] as number) + (acc[2] as number);
  records += (acc[1] as number) + (acc[3] as number);
  if (sum === 0) throw new Error("nothing decoded");
  if (records !== batch * batches) throw new Error(`decoded ${records} records, expected ${batch * batches}`);
  return { records, ns };
}

async function main(): Promise<void> {
  buildPeer();
  const p = new Producers({ rbSize: RING });
  // The record loop `tsbpf trace` uses (src/binary/consume-loop.ts: one per reader).
  const r = new RingBufReader(p.rb, { consumeLoop: compileConsumeLoop });
  // One decoder pair for both record sizes (one callback, as the peer has one struct):
  // the layouts must agree.
  const layout = fieldLayout(p.btf, "rb_small");
  const big = fieldLayout(p.btf, "rb_big");
  if (JSON.stringify(big) !== JSON.stringify(layout))
    throw new Error(
      `rb_small and rb_big lay out their fields differently: ${JSON.stringify({ layout, big })}`,
    );
  ({ batch: decodeBatch, record: onRecord } = makeDecoders(layout, acc));
  const rows: (string | number)[][] = [];
  let ratio64 = 0;
  let ratio64Batch = 0;
  try {
    for (const { size, batch, batches } of SIZES) {
      const rate: Record<string, number[]> = { batch: [], cb: [], each: [], libbpf: [] };
      // One untimed warm-up of each (JIT, page faults of the fresh 64 MiB mapping).
      for (const mode of MODES) runTsbpf(p, r, size, batch, 1, mode);
      runLibbpf(size, batch, 1);
      // The order rotates each run, so no consumer always runs right after the libbpf
      // peer's process (its exec and 64 MiB mapping disturb caches and the scheduler).
      const order: (Mode | "libbpf")[] = [...MODES, "libbpf"];
      for (let i = 0; i < RUNS; i++) {
        for (let j = 0; j < order.length; j++) {
          const k = order[(i + j) % order.length];
          const t =
            k === "libbpf" ? runLibbpf(size, batch, batches) : runTsbpf(p, r, size, batch, batches, k);
          rate[k].push(t.records / (t.ns / 1e9));
        }
      }
      if (p.counter(1) !== 0) throw new Error(`tsbpf runs lost ${p.counter(1)} records: ring too small`);
      const med = (k: string) => median(rate[k]);
      const best = (k: string) => Math.max(...rate[k]);
      if (size === 64) {
        ratio64 = med("cb") / med("libbpf");
        ratio64Batch = med("batch") / med("libbpf");
      }
      for (const [name, k] of [
        ["tsbpf consume cb (pos per call)", "cb"],
        ["tsbpf consumeBatch (pos per batch)", "batch"],
        ["tsbpf consumeEach (pos per record)", "each"],
        ["libbpf ring_buffer__poll", "libbpf"],
      ]) {
        const recs = med(k);
        const mbs = (recs * size) / 1e6;
        const x = (recs / med("libbpf")).toFixed(2);
        const xBest = (best(k) / best("libbpf")).toFixed(2);
        rows.push([
          name,
          size,
          (recs / 1e6).toFixed(2),
          mbs.toFixed(0),
          x,
          (best(k) / 1e6).toFixed(2),
          xBest,
        ]);
        console.log(
          `${name.padEnd(36)} ${String(size).padStart(3)} B  ${(recs / 1e6).toFixed(2).padStart(7)} M rec/s  ${mbs.toFixed(0).padStart(6)} MB/s  x${x}  (best run ${(best(k) / 1e6).toFixed(2)} M rec/s, x${xBest})`,
        );
      }
    }
  } finally {
    r.close();
    p.close();
  }
  const body = `${table(["consumer", "record bytes", "M records/s (median)", "MB/s", "vs libbpf", "best run M rec/s", "best vs best"], rows)}\n\nMethod: 64 MiB ring; per batch the bpf_loop producer (BPF_PROG_TEST_RUN) fills the ring (${SIZES.map((s) => `${s.batches}×${s.batch} × ${s.size} B`).join(", ")}), then the consumer drains it until empty (libbpf: ring_buffer__poll(timeout 0); tsbpf: consumeBatch / consume / consumeEach) and only the drain is timed; 4 fields decoded per record; ${RUNS} runs of each consumer, interleaved in a rotating order, medians (best run shown too: the machine is shared and noisy). ratio = tsbpf consume(cb) / libbpf medians on 64-byte records: ${ratio64.toFixed(2)} (consumeBatch: ${ratio64Batch.toFixed(2)}). The per-record callback adds to a Float64Array, as the C peer adds to static globals (a double in a closure variable is a boxed HeapNumber in V8, re-allocated per record).`;
  const wake = QUICK ? "" : await wakeupBench();
  if (!process.argv.includes("--no-append") && !QUICK && SIZES.length === ALL_SIZES.length)
    appendResult(
      "bench:ringbuf — ring-buffer consumption, tsbpf vs libbpf",
      "npm run bench:ringbuf",
      `${body}\n\n${wake}`,
    );
  console.log(`tsbpf/libbpf on 64-byte records: ratio=${ratio64.toFixed(2)}`);
}

await main();
