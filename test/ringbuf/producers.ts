// Loads test/fixtures/ringbuf.bpf.o (the kernel producers) with our own loader
// (loadCollectionSync, no libbpf/bpftool) and drives its programs with
// BPF_PROG_TEST_RUN. Shared by the ringbuf/perf tests and the ring-buffer benches.
// The ring is sized per test through the loader's map override (`maps.rb.maxEntries`).
import type { Btf } from "../../src/btf/btf.ts";
import { type Codec, makeCodec } from "../../src/btf/codec.ts";
import { type Collection, loadCollectionSync } from "../../src/loader/collection.ts";
import type { Program } from "../../src/loader/handle.ts";
import type { BpfMap } from "../../src/maps/map.ts";
import { counterValue } from "../../src/ringbuf/loss.ts";
import { progTestRun } from "../../src/sys/bpf.ts";
import { ROOT_DIR } from "../helpers/env.ts";

export const OBJECT = `${ROOT_DIR}test/fixtures/ringbuf.bpf.o`;
const PROGS = ["emit_mixed", "emit_small", "bench", "emit_stamp", "emit_perf_mixed"] as const;
export type ProgName = (typeof PROGS)[number];

export const CNT_ATTEMPTS = 0;
export const CNT_FAILED = 1;
export const GOLDEN = 0x9e3779b1;

export class Producers {
  readonly coll: Collection;
  readonly rb: BpfMap;
  readonly perf: BpfMap;
  readonly counters: BpfMap;
  readonly btf: Btf;
  private readonly progs = new Map<ProgName, Program>();

  constructor(opts: { rbSize?: number } = {}) {
    this.coll = loadCollectionSync(OBJECT, { maps: { rb: { maxEntries: opts.rbSize ?? 16384 } } });
    try {
      const { maps, programs, btf } = this.coll;
      if (!btf) throw new Error(`${OBJECT}: loaded without BTF`);
      this.btf = btf;
      this.rb = maps.rb;
      this.perf = maps.perf;
      this.counters = maps.counters;
      for (const p of PROGS) {
        if (!programs[p]) throw new Error(`${OBJECT}: no program ${p}`);
        this.progs.set(p, programs[p]);
      }
    } catch (e) {
      this.coll.close();
      throw e;
    }
  }

  /** fd of a producer program (for callers that drive it themselves, e.g. a child process). */
  progFd(prog: ProgName): number {
    return (this.progs.get(prog) as Program).fd;
  }

  /** Decoder for a struct of the object's BTF, e.g. "rb_small". */
  codec(structName: string): Codec {
    const ids = this.btf.findByNameKind(structName, "struct");
    if (ids.length === 0) throw new Error(`no struct ${structName} in ${OBJECT}`);
    return makeCodec(this.btf, ids[0]);
  }

  /** Run a SEC("syscall") producer with struct rb_args { count, seq0, discard_every, pad }. */
  run(
    prog: Exclude<ProgName, "emit_perf_mixed">,
    count: number,
    seq0 = 0,
    discardEvery = 0,
    pad = 0,
  ): number {
    const ctx = new Uint8Array(new ArrayBuffer(16));
    const dv = new DataView(ctx.buffer);
    dv.setUint32(0, count, true);
    dv.setUint32(4, seq0, true);
    dv.setUint32(8, discardEvery, true);
    dv.setUint32(12, pad, true);
    return (this.progs.get(prog) as Program).testRun({ ctx }).retval;
  }

  /** Run the raw_tp perf producer on `cpu` (args[0] = count, args[1] = seq0); repeat must be 0 for raw_tp. */
  runPerf(count: number, seq0: number, cpu?: number): number {
    const ctx = new Uint8Array(new ArrayBuffer(16));
    const dv = new DataView(ctx.buffer);
    dv.setBigUint64(0, BigInt(count), true);
    dv.setBigUint64(8, BigInt(seq0), true);
    // BPF_F_TEST_RUN_ON_CPU = 1 << 0
    const onCpu = cpu === undefined ? {} : { flags: 1, cpu };
    return progTestRun({ prog_fd: this.progFd("emit_perf_mixed"), ctx_in: ctx, ...onCpu }).retval;
  }

  /** Sum over CPUs of a counter slot. */
  counter(idx: number): number {
    const v = this.counters.lookup(idx) as unknown[];
    return v.reduce<number>((s, x) => s + counterValue(x), 0);
  }

  resetCounters(): void {
    this.counters.update(CNT_ATTEMPTS, 0n);
    this.counters.update(CNT_FAILED, 0n);
  }

  close(): void {
    this.progs.clear();
    this.coll.close();
  }
}

/** Expected size of the mixed-size record `seq` (rb_size() in ringbuf.bpf.c). */
export function mixedSize(seq: number): number {
  return [8, 12, 36, 204, 1004, 2500, 4000][seq % 7];
}

/** Check one mixed-size record; returns an error string or "" when intact. */
export function checkMixed(v: DataView, off: number, len: number, wantSeq: number): string {
  const seq = v.getUint32(off, true);
  const size = v.getUint32(off + 4, true);
  if (seq !== wantSeq) return `seq ${seq}, expected ${wantSeq}`;
  if (size !== mixedSize(seq)) return `seq ${seq}: size field ${size}, expected ${mixedSize(seq)}`;
  if (len < size) return `seq ${seq}: record has ${len} bytes, expected ${size}`;
  for (let j = 0; j < (size - 8) / 4; j++) {
    const w = v.getUint32(off + 8 + j * 4, true);
    const want = (Math.imul(seq, GOLDEN) + j) >>> 0;
    if (w !== want) return `seq ${seq}: word ${j} is ${w}, expected ${want}`;
  }
  return "";
}
