// The record loop of RingBufReader.consume(): walks committed records from our
// consumer position and hands each to a callback.
//
// Protocol (kernel/bpf/ringbuf.c; see reader.ts): the record at data offset `hdr` is an
// 8-byte header { u32 len; u32 pg_off } then the payload; len bit 31 = BUSY (stop: not
// committed yet), bit 30 = DISCARD (skip); the whole is rounded up to 8 bytes. The data
// pages are mapped twice in a row, so a record that wraps reads contiguously and only
// the NEXT header moves back into the first copy. When the reader maps only part of the
// second copy (RingBufReaderOptions.maxRecordSize), a record running past the mapping is
// skipped and its length left in `overlong` for the reader to report.

/** Fields of the reader the loop reads. */
export interface ConsumeLoopState {
  /** Size of the data area (max_entries), a power of two. */
  readonly size: number;
  /** The read-only mapping: producer page, then the data pages twice. */
  readonly ro: DataView;
  readonly ro32: Uint32Array;
  /** producer_pos (u64 at offset 0 of the mapping). */
  readonly prod64: BigUint64Array;
  /** Bytes of the mapping (`ro`): a record must end within it. */
  readonly end: number;
  /** Our copy of consumer_pos, set by the reader before each call. */
  pos: number;
  /** Out: bytes the loop moved past (records handed out, discards), also when cb threw. */
  walked: number;
  /** Out: the length of a committed record skipped because it ran past `end` (the loop stops there), else 0. */
  overlong: number;
}

/**
 * Walk ready records from state.pos, calling cb(ro, payloadOffset, payloadLength) for
 * each committed one, until the ring is empty, a BUSY record, or `limit` (an int32)
 * records; returns the count. It does not publish consumer_pos: the caller does, from
 * state.walked, after the last callback (also when one threw).
 */
export type ConsumeLoop = (
  state: ConsumeLoopState,
  cb: (view: DataView, offset: number, length: number) => void,
  limit: number,
) => number;

/**
 * Makes the loop for one reader. `pageSize` is where the data pages start in the
 * mapping; `atomicHeaders` reads each header with Atomics.load (weakly ordered CPUs)
 * instead of a plain load (x86-64: see ATOMIC_HEADERS in reader.ts). The single binary
 * passes its own factory (src/binary/consume-loop.ts) through
 * RingBufReaderOptions.consumeLoop.
 */
export type ConsumeLoopFactory = (pageSize: number, atomicHeaders: boolean) => ConsumeLoop;

/** The default ConsumeLoopFactory: one plain function shared by every reader. */
export function consumeLoop(pageSize: number, atomicHeaders: boolean): ConsumeLoop {
  if (!Number.isSafeInteger(pageSize) || pageSize <= 0 || pageSize % 8 !== 0) {
    throw new RangeError(`ring buffer page size ${pageSize} is not a positive multiple of 8`);
  }
  return (state, cb, limit) => {
    // The walk runs on offsets relative to this call (rel, avail) and on the header's
    // place in the mapping (hdr), small integers, while positions are free-running and
    // pass 2^31. `rel` includes a record BEFORE its callback runs, so a callback that
    // throws still releases its record: a bad record cannot wedge the ring.
    const { size, ro, ro32, prod64, end } = state;
    const start = state.pos;
    const wrapAt = pageSize + size;
    let avail = Number(Atomics.load(prod64, 0)) - start;
    let hdr = pageSize + (start % size);
    let rel = 0;
    let n = 0;
    try {
      while (rel < avail && n < limit) {
        const len = atomicHeaders ? Atomics.load(ro32, hdr >>> 2) : (ro32[hdr >>> 2] as number);
        if (len & 0x80000000) break; // BPF_RINGBUF_BUSY_BIT
        const dataLen = len & 0x3fffffff;
        const at = hdr + 8; // BPF_RINGBUF_HDR_SZ
        const step = (dataLen + 15) & ~7;
        rel += step;
        hdr += step;
        if (hdr >= wrapAt) hdr -= size;
        if (!(len & 0x40000000)) {
          // not BPF_RINGBUF_DISCARD_BIT
          if (at + dataLen > end) {
            state.overlong = dataLen;
            break;
          }
          n++;
          cb(ro, at, dataLen);
        }
        // producer_pos is re-read only when the walk catches up.
        if (rel >= avail) avail = Number(Atomics.load(prod64, 0)) - start;
      }
    } finally {
      state.walked = rel;
    }
    return n;
  };
}
