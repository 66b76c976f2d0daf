// Consumer of a BPF_MAP_TYPE_RINGBUF map (kernel 5.8+), reading the kernel's shared
// memory directly. The contract (kernel/bpf/ringbuf.c, include/uapi/linux/bpf.h):
//  - mmap offset 0, one page, READ-WRITE: the consumer page; consumer_pos (u64) at 0.
//  - mmap offset page_size, page_size + 2 × max_entries, READ-ONLY: the producer page
//    (producer_pos u64 at 0) followed by the data pages, which the kernel maps twice in a
//    row so a record that wraps the end of the ring reads contiguously. A shorter length
//    is accepted (ringbuf_map_mmap_kern() leaves the bounds to remap_vmalloc_range()):
//    with `maxRecordSize` only as much of the second copy is mapped as the longest
//    record can run into it. remap_vmalloc_range() maps every page of the range at
//    mmap time, so each page of the second copy is resident twice over (RSS) for good.
//  - a record is an 8-byte header { u32 len; u32 pg_off } then `len & ~(BUSY|DISCARD)`
//    bytes, the whole rounded up to 8 (BPF_RINGBUF_HDR_SZ = 8). BPF_RINGBUF_BUSY_BIT
//    (1 << 31) = reserved but not committed yet: stop there, the next wakeup brings it.
//    BPF_RINGBUF_DISCARD_BIT (1 << 30) = committed as discarded: skip it.
//  - positions are free-running u64 byte counters (offset = pos mod max_entries);
//    producer_pos and each len are read with acquire semantics (Atomics.load),
//    consumer_pos is published with a release store (Atomics.store) after the reads.
//
// When consumer_pos is advanced: once per drained batch, not per record: a per-record
// store costs a BigInt allocation and a store per record. The price of batching is that the space of a batch is held
// until the batch ends (bounded by TURN_LIMIT records), and that the kernel's wakeup
// rule (bpf_ringbuf_commit: wake only when consumer_pos equals the committed record's
// position, i.e. the consumer had caught up) sends no wakeup for records committed while
// we drain. That is safe because the waiter's epoll is level-triggered: the next
// epoll_wait re-runs the map's poll(), which reports data whenever consumer_pos <
// producer_pos, and we only wait after a drain found the ring empty.

import { EventReaderBase, type RawCallback, RingBufError } from "../events/base.ts";
import { Waiter, type WaiterMode } from "../events/waiter.ts";
import type { BpfMap } from "../maps/map.ts";
import { MAP_SHARED, mmap, munmap, PAGE_SIZE, PROT_READ, PROT_WRITE, view } from "../sys/mm.ts";
import { BPF_MAP_TYPE, BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ } from "../uapi.ts";
import {
  type ConsumeLoop,
  type ConsumeLoopFactory,
  type ConsumeLoopState,
  consumeLoop,
} from "./consume-loop.ts";
import type { LossCounter } from "./loss.ts";

/** The record header's bits and size (bpf.h's anonymous enum, generated from BTF). */
export { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ };

const LEN_MASK = 0x3fff_ffff;

/**
 * Whether record headers are read with Atomics.load. On x86-64 (TSO: loads are not
 * reordered with older loads) a plain typed-array load already has acquire semantics at
 * the CPU, and V8 keeps typed-array loads in program order on its effect chain; the
 * header is read after producer_pos (an Atomics.load per batch) and before the record
 * data, which is all the protocol needs. Atomics.load on a non-shared ArrayBuffer is slow
 * enough to cap the reader below half of libbpf (bench/README.md). Weakly ordered CPUs
 * (arm64, ...) keep Atomics.load.
 */
const ATOMIC_HEADERS = process.arch !== "x64";

/** Most records one consumeBatch() call hands out (the size of its offset/length arrays). */
export const BATCH_MAX = 4096;

/**
 * Most record bytes one consumeBatch() call spans. A batch is walked twice: our header
 * walk, then the caller's decode loop re-reading the same records; the cap is a bound
 * that keeps the second pass within a typical L2 whatever the record size.
 *
 * consumeBatch is slower than consume() on small and large records alike
 * (bench/README.md): the walk is a chain of dependent loads (the next header's place
 * depends on this one's length) and runs at memory speed; consume() runs the caller's
 * decode inside that walk, where it hides under the memory stalls, while consumeBatch
 * decodes in a second, compute-bound pass.
 */
export const BATCH_BYTES = 256 * 1024;

/**
 * Batch consumer: records i < count are lengths[i] bytes at byte offsets[i] of `view` (a
 * DataView over the whole RO mapping). `words` is a Uint32Array over the same mapping:
 * every record starts 8-byte aligned (BPF_RINGBUF_HDR_SZ = 8, lengths rounded up to 8),
 * so `words[(offsets[i] >> 2) + k]` is the record's k-th u32, an aligned typed-array load
 * that V8 compiles to one instruction (faster than DataView.getUint32). The arrays are the reader's, reused by the next batch; like
 * the mapping's contents they are valid only during the call.
 */
export type BatchCallback = (
  view: DataView,
  offsets: Int32Array,
  lengths: Int32Array,
  count: number,
  words: Uint32Array,
) => void;

/** A ring buffer given by fd and size instead of a BpfMap. */
export interface RingBufSource {
  fd: number;
  maxEntries: number;
}

/** Options of new RingBufReader(). */
export interface RingBufReaderOptions {
  /** Producer-side loss counter (see loss.ts); reader.lost() reports its total. */
  loss?: LossCounter;
  /** How wait() blocks: "worker" thread (default) or "async" on libuv's pool (see waiter.ts). */
  waiter?: WaiterMode;
  /** Makes this reader's record loop (default consumeLoop, in consume-loop.ts). */
  consumeLoop?: ConsumeLoopFactory;
  /**
   * The longest record (payload bytes) the producers submit. The second copy of the data
   * pages is then mapped only that far (plus the header), instead of whole: for a 2 MiB
   * ring and records of at most 80 KiB that is 2 MB less mapped memory. A record that
   * wraps and runs past the mapped part cannot be read: it is skipped and the consume
   * call throws a RingBufError naming its length. Default: the whole second copy (any
   * record size).
   */
  maxRecordSize?: number;
}

/** Bytes of the second copy of the data pages to map for records of up to `maxRecordSize`. */
export function wrapTailBytes(size: number, maxRecordSize: number | undefined): number {
  if (maxRecordSize === undefined) return size;
  const need = Math.ceil((maxRecordSize + BPF_RINGBUF_HDR_SZ) / PAGE_SIZE) * PAGE_SIZE;
  return Math.min(size, need);
}

function sourceOf(map: BpfMap | RingBufSource): RingBufSource {
  if ("spec" in map) {
    if (map.spec.type !== BPF_MAP_TYPE.RINGBUF) {
      throw new RingBufError(`map '${map.spec.name}' is a ${map.spec.typeName} map, expected a ringbuf map`);
    }
    return { fd: map.fd, maxEntries: map.spec.maxEntries };
  }
  return map;
}

/** Reads a BPF_MAP_TYPE_RINGBUF map from shared memory: records(), onBatch(), consume(). */
export class RingBufReader extends EventReaderBase {
  readonly fd: number;
  /** Size of the data area (max_entries): a power of two, a multiple of the page size. */
  readonly size: number;
  /** RingBufReaderOptions.maxRecordSize: undefined when the whole second copy is mapped. */
  readonly maxRecordSize: number | undefined;
  protected readonly waiter: Waiter;
  private readonly consAddr: bigint;
  private readonly roAddr: bigint;
  private readonly roLen: number;
  /** consumer_pos, over the RW page. */
  private readonly cons64: BigUint64Array;
  /** producer_pos, over the RO mapping. */
  private readonly prod64: BigUint64Array;
  /** The RO mapping (producer page + double-mapped data) as bytes and as u32 for the headers. */
  private readonly ro: DataView;
  private readonly ro32: Uint32Array;
  /** Our copy of consumer_pos: we are the only consumer. */
  private pos: number;
  private readonly loss: LossCounter | undefined;
  private readonly offsets = new Int32Array(BATCH_MAX);
  private readonly lengths = new Int32Array(BATCH_MAX);
  /** Bytes the last walk() covered (records and discards). */
  private walked = 0;
  /** Length of the record the last walk() skipped as running past the mapping, else 0. */
  private walkOverlong = 0;
  /** consume()'s loop, made for this reader by its ConsumeLoopFactory, and the fields it reads. */
  private readonly loop: ConsumeLoop;
  private readonly loopState: ConsumeLoopState;

  constructor(map: BpfMap | RingBufSource, opts: RingBufReaderOptions = {}) {
    super();
    const { fd, maxEntries } = sourceOf(map);
    if (!(maxEntries >= PAGE_SIZE && (maxEntries & (maxEntries - 1)) === 0)) {
      // ringbuf_map_alloc() enforces the same: a power of two and page aligned.
      throw new RingBufError(
        `ring buffer fd ${fd}: max_entries ${maxEntries} is not a power of two >= page size ${PAGE_SIZE}`,
      );
    }
    const maxRecord = opts.maxRecordSize;
    if (maxRecord !== undefined && !(Number.isSafeInteger(maxRecord) && maxRecord > 0)) {
      throw new RingBufError(`ring buffer fd ${fd}: maxRecordSize ${maxRecord} is not a positive integer`);
    }
    this.fd = fd;
    this.size = maxEntries;
    this.maxRecordSize = maxRecord;
    this.loss = opts.loss;
    this.consAddr = mmap(
      PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_SHARED,
      fd,
      0,
      `ring buffer fd ${fd} consumer page`,
    );
    this.roLen = PAGE_SIZE + maxEntries + wrapTailBytes(maxEntries, maxRecord);
    try {
      this.roAddr = mmap(this.roLen, PROT_READ, MAP_SHARED, fd, PAGE_SIZE, `ring buffer fd ${fd} data pages`);
    } catch (e) {
      munmap(this.consAddr, PAGE_SIZE);
      throw e;
    }
    this.cons64 = new BigUint64Array(view(this.consAddr, PAGE_SIZE), 0, 1);
    const ro = view(this.roAddr, this.roLen);
    this.prod64 = new BigUint64Array(ro, 0, 1);
    this.ro = new DataView(ro);
    this.ro32 = new Uint32Array(ro);
    this.pos = Number(Atomics.load(this.cons64, 0));
    this.loop = (opts.consumeLoop ?? consumeLoop)(PAGE_SIZE, ATOMIC_HEADERS);
    this.loopState = {
      size: maxEntries,
      ro: this.ro,
      ro32: this.ro32,
      prod64: this.prod64,
      end: this.roLen,
      pos: this.pos,
      walked: 0,
      overlong: 0,
    };
    try {
      this.waiter = new Waiter([fd], opts.waiter);
    } catch (e) {
      this.unmap();
      throw e;
    }
  }

  /** Bytes committed by producers and not yet consumed. */
  available(): number {
    this.check();
    return Number(Atomics.load(this.prod64, 0)) - this.pos;
  }

  /**
   * Per-record path (records(), onBatch(), the tracer): the walk is this reader's loop
   * (consume-loop.ts), calling cb for each record. consumer_pos is published once, after the
   * last record (and after beforeCommit), also when cb threw: the record it threw on
   * counts as consumed.
   */
  consume(cb: RawCallback, limit = Number.POSITIVE_INFINITY, beforeCommit?: () => void): number {
    if (this.closed) return 0;
    const st = this.loopState;
    st.pos = this.pos;
    st.walked = 0;
    st.overlong = 0;
    let n = 0;
    try {
      n = this.loop(st, cb, Math.min(limit, 0x7fff_ffff));
      beforeCommit?.();
    } finally {
      // Release the space even if a callback threw, so a bad record cannot wedge the ring.
      if (st.walked !== 0 && !this.closed) {
        this.pos += st.walked;
        Atomics.store(this.cons64, 0, BigInt(this.pos));
      }
    }
    if (st.overlong !== 0) this.overlong(st.overlong);
    return n;
  }

  /**
   * The fast path: collect up to `limit` (≤ BATCH_MAX) ready records into the reader's
   * (offset, length) arrays, hand them to cb in ONE call, then publish consumer_pos once.
   * The header walk is a tight monomorphic loop with no call per record, and the caller's
   * decode loop keeps its state in locals. Use it when the caller needs the whole batch at
   * once. For a per-record decode, consume() is faster (see BATCH_BYTES). Returns the count.
   */
  consumeBatch(cb: BatchCallback, limit: number = BATCH_MAX): number {
    if (this.closed) return 0;
    const n = this.walk(limit < BATCH_MAX ? limit | 0 : BATCH_MAX);
    const rel = this.walked;
    if (rel === 0) return 0;
    const overlong = this.walkOverlong;
    const pos = this.pos + rel;
    try {
      if (n > 0) cb(this.ro, this.offsets, this.lengths, n, this.ro32);
    } finally {
      // Release the space even if cb threw, so a bad record cannot wedge the ring.
      if (!this.closed) {
        this.pos = pos;
        Atomics.store(this.cons64, 0, BigInt(pos));
      }
    }
    if (overlong !== 0) this.overlong(overlong);
    return n;
  }

  /** A record ran past the mapped part of the second copy (maxRecordSize): it was skipped. */
  private overlong(len: number): never {
    throw new RingBufError(
      `ring buffer fd ${this.fd}: skipped a ${len}-byte record that wraps past the mapped data ` +
        `(the reader was opened for records of at most ${this.maxRecordSize} bytes)`,
    );
  }

  /**
   * The header walk of consumeBatch(): fills offsets/lengths with up to `max` records,
   * returns their count and leaves the bytes walked in `walked`. Its own function, so
   * the caller's callback is never inlined into this loop: TurboFan inlines a call
   * site's target speculatively and deoptimizes the whole function ("wrong call target",
   * seen with --trace-deopt) when another reader or callback comes along, throwing away
   * the optimized walk each time.
   */
  private walk(max: number): number {
    const size = this.size;
    const ro32 = this.ro32;
    const offsets = this.offsets;
    const lengths = this.lengths;
    const start = this.pos;
    // The walk runs on small integers relative to this batch (bytes walked, bytes
    // available, header offset in the mapping), which V8 keeps in int32 registers:
    // positions pass 2^31 over time and would make the loop's arithmetic double.
    // producer_pos is read once per batch, and again only when the walk catches up.
    // Every field the loop needs is loaded here, on entry: a property access first
    // reached inside the loop has no type feedback in the loop's OSR code, which then
    // deoptimized ("insufficient type feedback") each time the walk caught up.
    const prod64 = this.prod64;
    const end = this.roLen;
    let avail = Number(Atomics.load(prod64, 0)) - start;
    const wrapAt = PAGE_SIZE + size;
    let overlong = 0;
    let hdr = PAGE_SIZE + (start % size);
    let rel = 0;
    let n = 0;
    while (rel < avail && n < max && rel < BATCH_BYTES) {
      const len = ATOMIC_HEADERS ? Atomics.load(ro32, hdr >>> 2) : ro32[hdr >>> 2];
      if (len & BPF_RINGBUF_BUSY_BIT) break;
      const dataLen = len & LEN_MASK;
      const at = hdr + BPF_RINGBUF_HDR_SZ;
      const step = (dataLen + BPF_RINGBUF_HDR_SZ + 7) & ~7;
      rel += step;
      hdr += step;
      // The data pages are mapped twice in a row: a record may run past wrapAt, but the
      // next header is back in the first copy.
      if (hdr >= wrapAt) hdr -= size;
      if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
        if (at + dataLen > end) {
          // Past the mapped part of the second copy: skipped, reported after the batch.
          overlong = dataLen;
          break;
        }
        offsets[n] = at;
        lengths[n] = dataLen;
        n++;
      }
      if (rel >= avail) avail = Number(Atomics.load(prod64, 0)) - start;
    }
    this.walked = rel;
    this.walkOverlong = overlong;
    return n;
  }

  /**
   * Variant of consume() publishing consumer_pos after EVERY record (for the bench's
   * per-record vs per-batch measurement, and for producers that must see space freed
   * as early as possible).
   */
  consumeEach(cb: RawCallback, limit = Number.POSITIVE_INFINITY): number {
    if (this.closed) return 0;
    let n = 0;
    let prod = Number(Atomics.load(this.prod64, 0));
    while (this.pos < prod && n < limit) {
      const hdr = PAGE_SIZE + (this.pos % this.size);
      const len = ATOMIC_HEADERS ? Atomics.load(this.ro32, hdr >>> 2) : this.ro32[hdr >>> 2];
      if (len & BPF_RINGBUF_BUSY_BIT) break;
      const dataLen = len & LEN_MASK;
      const at = hdr + BPF_RINGBUF_HDR_SZ;
      try {
        if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
          if (at + dataLen > this.roLen) this.overlong(dataLen);
          n++;
          cb(this.ro, at, dataLen);
        }
      } finally {
        this.pos += (dataLen + BPF_RINGBUF_HDR_SZ + 7) & ~7;
        Atomics.store(this.cons64, 0, BigInt(this.pos));
      }
      if (this.pos >= prod) prod = Number(Atomics.load(this.prod64, 0));
    }
    return n;
  }

  lost(): number {
    return this.loss ? this.loss.total() : 0;
  }

  protected dispose(): void {
    this.unmap();
  }

  private unmap(): void {
    munmap(this.roAddr, this.roLen);
    munmap(this.consAddr, PAGE_SIZE);
  }
}
