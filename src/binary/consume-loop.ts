// The single binary's ConsumeLoopFactory (src/ringbuf/consume-loop.ts): the same
// record loop, compiled once PER READER.
//
// Why a compiled copy: V8 keeps type feedback (which function a call site calls) per
// function literal, shared by every closure made from it. One shared loop sees the
// callbacks of every reader in the process, turns polymorphic and then megamorphic, and
// TurboFan stops inlining the callback: each record then pays a real call, and a decode
// written in the callback cannot be merged into the walk. A loop of its own per reader
// normally sees one callback, which TurboFan inlines, so the header walk and the
// caller's decode run as one loop over each record while it is in L1, like libbpf's C
// loop (bench/ringbuf.ts). `new Function` with a per-reader id in the source is the only
// way to get a function literal of its own at run time: V8's eval cache would hand
// identical source the same feedback. The source has no free variables (only its
// parameters and globals), so it works the same from the esbuild-minified single binary.
//
// The protocol and the loop's contract are those of the library's consumeLoop().
import type { ConsumeLoop } from "../ringbuf/consume-loop.ts";

/** A source comment unique to each loop, so V8's eval cache cannot hand two readers one literal. */
function loopId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** A ConsumeLoopFactory whose every call compiles a new function literal. */
export function compileConsumeLoop(pageSize: number, atomicHeaders: boolean): ConsumeLoop {
  if (!Number.isSafeInteger(pageSize) || pageSize <= 0 || pageSize % 8 !== 0) {
    throw new RangeError(`ring buffer page size ${pageSize} is not a positive multiple of 8`);
  }
  const load = atomicHeaders ? "Atomics.load(ro32, hdr >>> 2)" : "ro32[hdr >>> 2]";
  // Every field is loaded on entry: a property first reached inside the loop has no type
  // feedback in the loop's OSR code, which then deoptimizes when the walk catches up.
  // The walk runs on offsets relative to this call (rel, avail) and on the header's
  // place in the mapping (hdr), all small integers V8 keeps in int32 registers, while
  // positions are free-running and pass 2^31. `rel` includes a record BEFORE its
  // callback runs, so a callback that throws still releases its record: a bad record
  // cannot wedge the ring. producer_pos is re-read only when the walk catches up.
  const source = `"use strict"; // tsbpf ring buffer consume loop ${loopId()}
const size = state.size, ro = state.ro, ro32 = state.ro32, prod64 = state.prod64, end = state.end;
const start = state.pos;
const wrapAt = ${pageSize} + size;
let avail = Number(Atomics.load(prod64, 0)) - start;
let hdr = ${pageSize} + (start % size);
let rel = 0;
let n = 0;
try {
  while (rel < avail && n < limit) {
    const len = ${load};
    if (len & 0x80000000) break; // BPF_RINGBUF_BUSY_BIT
    const dataLen = len & 0x3fffffff;
    const at = hdr + 8; // BPF_RINGBUF_HDR_SZ
    const step = (dataLen + 15) & ~7;
    rel += step;
    hdr += step;
    if (hdr >= wrapAt) hdr -= size;
    if (!(len & 0x40000000)) { // BPF_RINGBUF_DISCARD_BIT
      if (at + dataLen > end) { state.overlong = dataLen; break; } // past a partly mapped second copy
      n++;
      cb(ro, at, dataLen);
    }
    if (rel >= avail) avail = Number(Atomics.load(prod64, 0)) - start;
  }
} finally {
  state.walked = rel;
}
return n;`;
  return new Function("state", "cb", "limit", source) as ConsumeLoop;
}
