// Loads test/fixtures/ringbuf.bpf.o (the kernel producers) and drives its programs with
// BPF_PROG_TEST_RUN. Shared by the ringbuf/perf tests and bench/ringbuf.ts.
//
// Loading goes through bpftool (`prog loadall ... map name rb pinned <our map>`) so the
// ring can be sized per test: we create the ringbuf (and perf array) map ourselves, pin
// it, and bpftool reuses it. TODO(loader): switch to loadCollection(path, { maps: { rb:
// { maxEntries } } }) when src/loader/collection.ts lands.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { Btf } from "../../src/btf/btf.ts";
import { type Codec, makeCodec } from "../../src/btf/codec.ts";
import { readCollectionSpec } from "../../src/elf/collection.ts";
import { BpfMap } from "../../src/maps/map.ts";
import { counterValue } from "../../src/ringbuf/loss.ts";
import type { MapSpec } from "../../src/spec.ts";
import { closeFd, objGet, progTestRun } from "../../src/sys/bpf.ts";
import { numPossibleCpus } from "../../src/sys/cpus.ts";
import { BPF_MAP_TYPE } from "../../src/uapi.ts";
import { ROOT_DIR } from "../helpers/env.ts";

export const OBJECT = `${ROOT_DIR}test/fixtures/ringbuf.bpf.o`;
const PROGS = ["emit_mixed", "emit_small", "bench", "emit_perf_mixed"] as const;
export type ProgName = (typeof PROGS)[number];

export const CNT_ATTEMPTS = 0;
export const CNT_FAILED = 1;
export const GOLDEN = 0x9e3779b1;

function mapSpec(name: string, type: number, maxEntries: number, keySize = 0, valueSize = 0): MapSpec {
  return {
    name,
    type,
    typeName: type === BPF_MAP_TYPE.RINGBUF ? "ringbuf" : "perf_event_array",
    keySize,
    valueSize,
    maxEntries,
    flags: 0,
    numaNode: 0,
    mapExtra: 0n,
    pinning: "none",
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
  };
}

export class Producers {
  readonly rb: BpfMap;
  readonly perf: BpfMap;
  readonly counters: BpfMap;
  readonly btf: Btf;
  private readonly progs = new Map<ProgName, number>();
  private readonly dir: string;

  constructor(opts: { rbSize?: number } = {}) {
    this.btf = readCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT).btf as Btf;
    this.dir = mkdtempSync("/sys/fs/bpf/tsbpf-rbtest-");
    this.rb = BpfMap.create(mapSpec("rb", BPF_MAP_TYPE.RINGBUF, opts.rbSize ?? 16384));
    this.perf = BpfMap.create(mapSpec("perf", BPF_MAP_TYPE.PERF_EVENT_ARRAY, numPossibleCpus(), 4, 4));
    try {
      this.rb.pin(`${this.dir}/rb`);
      this.perf.pin(`${this.dir}/perf`);
      execFileSync(
        "bpftool",
        [
          "prog",
          "loadall",
          OBJECT,
          `${this.dir}/progs`,
          "map",
          "name",
          "rb",
          "pinned",
          `${this.dir}/rb`,
          "map",
          "name",
          "perf",
          "pinned",
          `${this.dir}/perf`,
          "pinmaps",
          `${this.dir}/maps`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      for (const p of PROGS) this.progs.set(p, objGet(`${this.dir}/progs/${p}`));
      this.counters = BpfMap.fromPin(`${this.dir}/maps/counters`);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
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
    return progTestRun({ prog_fd: this.progs.get(prog) as number, ctx_in: ctx }).retval;
  }

  /** Run the raw_tp perf producer on `cpu` (args[0] = count, args[1] = seq0); repeat must be 0 for raw_tp. */
  runPerf(count: number, seq0: number, cpu?: number): number {
    const ctx = new Uint8Array(new ArrayBuffer(16));
    const dv = new DataView(ctx.buffer);
    dv.setBigUint64(0, BigInt(count), true);
    dv.setBigUint64(8, BigInt(seq0), true);
    // BPF_F_TEST_RUN_ON_CPU = 1 << 0
    const onCpu = cpu === undefined ? {} : { flags: 1, cpu };
    return progTestRun({ prog_fd: this.progs.get("emit_perf_mixed") as number, ctx_in: ctx, ...onCpu })
      .retval;
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
    for (const fd of this.progs.values()) closeFd(fd);
    this.progs.clear();
    this.counters.close();
    this.rb.close();
    this.perf.close();
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
