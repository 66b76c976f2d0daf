// What the ring-buffer reader and the perf-buffer reader share: the async layer
// (records(), onBatch()) over a synchronous drain, and the record-callback types.
// A subclass provides consume() (drain what is there now) and a Waiter.
import type { Codec } from "../btf/codec.ts";
import { TsbpfError } from "../errors.ts";
import type { Waiter, WaiterMode } from "./waiter.ts";

/** A reader used wrongly (a map of the wrong type, a closed reader) or a record shorter than its decoder. */
export class RingBufError extends TsbpfError {}

/**
 * Raw record callback: the record is `length` bytes at `offset` of `view`, a DataView
 * over the whole mapping (zero-copy, zero allocation). Valid only during the call: the
 * kernel reuses the space as soon as the reader moves on.
 *
 * Speed (RingBufReader.consume, bench/ringbuf.ts): each reader has its own compiled loop,
 * so a callback that stays the same is inlined into it. A running double total kept in
 * a closure `let` is re-boxed (a HeapNumber allocation) on every update, which halved
 * the bench's throughput; keep such totals in a typed array.
 */
export type RawCallback = (view: DataView, offset: number, length: number) => void;

/** A record decoder: a BTF codec (src/btf/codec.ts) or a function over the raw record. */
export type Decoder<T> = Codec | ((view: DataView, offset: number, length: number) => T);

/** Options of records(). */
export interface RecordsOptions<T> {
  signal?: AbortSignal;
  /** Decode each record; default: a Uint8Array copy of its bytes. */
  decode?: Decoder<T>;
}

/** Options of onBatch(). */
export interface BatchOptions {
  signal?: AbortSignal;
}

/** Records drained per event-loop turn, so a busy producer cannot starve timers and I/O. */
export const TURN_LIMIT = 16384;
/** Upper bound of one pool-thread wait (ms); see waiter.ts. */
export const WAIT_SLICE_MS = 1000;

export function decoderFn<T>(d: Decoder<T> | undefined): (v: DataView, off: number, len: number) => T {
  if (!d)
    return (v, off, len) => new Uint8Array(v.buffer.slice(v.byteOffset + off, v.byteOffset + off + len)) as T;
  if (typeof d === "function") return d;
  const codec = d;
  return (v, off, len) => {
    if (len < codec.size) {
      throw new RingBufError(
        `record of ${len} bytes is shorter than its decoder's type (${codec.size} bytes)`,
      );
    }
    return codec.decode(v, off) as T;
  };
}

/** What RingBufReader and PerfReader share: async iteration, batches, polling, loss counts, close(). */
export abstract class EventReaderBase {
  protected abstract readonly waiter: Waiter;
  protected closed = false;

  /**
   * Drain up to `limit` available records now, without waiting; returns how many were
   * handed out. `beforeCommit` runs after the last record and before the space is given
   * back to the kernel (so windows collected by cb are still valid in it).
   */
  abstract consume(cb: RawCallback, limit?: number, beforeCommit?: () => void): number;
  /** Records lost so far (kernel- or producer-reported), cumulative. */
  abstract lost(): number;
  protected abstract dispose(): void;

  /** How wait() blocks now: "worker" (default) or "async" (requested, or the worker failed). */
  get waitStrategy(): WaiterMode {
    return this.waiter.strategy;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  protected check(): void {
    if (this.closed) throw new RingBufError("reader is closed");
  }

  /** Like consume(), handing each record out as its own zero-copy DataView window (valid only during cb). */
  drain(cb: (record: DataView) => void, limit = Number.POSITIVE_INFINITY): number {
    return this.consume((v, off, len) => cb(new DataView(v.buffer, v.byteOffset + off, len)), limit);
  }

  /** Synchronous: wait up to timeoutMs (blocks the thread; -1 = forever) when empty, then drain. For tests and tools. */
  poll(timeoutMs: number, cb: RawCallback): number {
    this.check();
    const n = this.consume(cb);
    if (n > 0 || timeoutMs === 0) return n;
    if (!this.waiter.waitSync(timeoutMs) || this.closed) return 0;
    return this.consume(cb);
  }

  /** Resolve when data may be ready (true) or on timeout/close/abort (false). Never blocks the event loop. */
  wait(timeoutMs: number = WAIT_SLICE_MS): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return this.waiter.wait(Math.min(timeoutMs < 0 ? WAIT_SLICE_MS : timeoutMs, WAIT_SLICE_MS));
  }

  /** Async iteration over records (copies or decoded values) until close() or the signal aborts. */
  async *records<T = Uint8Array>(opts: RecordsOptions<T> = {}): AsyncGenerator<T> {
    const dec = decoderFn<T>(opts.decode);
    const queue: T[] = [];
    const off = this.wakeOnAbort(opts.signal);
    try {
      while (!this.closed && !opts.signal?.aborted) {
        this.consume((v, o, l) => queue.push(dec(v, o, l)), TURN_LIMIT);
        if (queue.length > 0) {
          // Copies/decoded values outlive the mapping window, so yielding after the drain is safe.
          for (let i = 0; i < queue.length; i++) {
            if (opts.signal?.aborted) return;
            yield queue[i];
          }
          queue.length = 0;
          // Let timers and I/O run between batches under sustained load.
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        await this.wait();
      }
    } finally {
      off();
    }
  }

  /**
   * Run until close() or abort: each batch of available records is handed to cb as
   * zero-copy DataView windows over the mapping, VALID ONLY DURING THE CALL (the space
   * is returned to the kernel right after). Resolves when the loop ends.
   */
  async onBatch(cb: (records: DataView[]) => void, opts: BatchOptions = {}): Promise<void> {
    const batch: DataView[] = [];
    const off = this.wakeOnAbort(opts.signal);
    try {
      while (!this.closed && !opts.signal?.aborted) {
        // cb runs before consume() gives the space back to the kernel, so the windows
        // stay valid for the whole batch.
        const n = this.consume(
          (v, o, l) => {
            batch.push(new DataView(v.buffer, v.byteOffset + o, l));
          },
          TURN_LIMIT,
          () => {
            if (batch.length === 0) return;
            try {
              cb(batch);
            } finally {
              batch.length = 0;
            }
          },
        );
        if (n === 0) await this.wait();
        // Yield to the event loop between batches (timers, I/O) under sustained load.
        else await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      off();
    }
  }

  private wakeOnAbort(signal: AbortSignal | undefined): () => void {
    if (!signal) return () => {};
    const onAbort = () => this.waiter.wake();
    signal.addEventListener("abort", onAbort, { once: true });
    return () => signal.removeEventListener("abort", onAbort);
  }

  /** Stop: wakes any pending wait at once, unmaps the buffers and closes the fds this reader opened. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiter.release();
    this.dispose();
  }

  /** Same as close(): `using reader = new RingBufReader(map)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
