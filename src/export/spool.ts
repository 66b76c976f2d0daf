// The publisher's queue: every line waits here, in order, until the server has
// acknowledged it. Recent lines stay in memory; when more than `memoryBytes` are
// waiting (the server is down or slower than the tracer), they move to segment files
// in the spool directory, and what is on disk is always older than what is in memory,
// so handing out the head (disk first) replays everything in order. The total
// (memory + disk) is bounded by `maxBytes`: a line that would pass it is refused, and
// the caller counts it as lost.
//
// On disk: `seg-<n>.ndjson` files of whole lines, and `head` holding "<n> <offset>":
// how much of the oldest segment the server has acknowledged. close() writes what is in
// memory to disk, so a restarted tracer replays what the last one could not deliver.
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { ExportError } from "./errors.ts";

export interface SpoolOptions {
  dir: string;
  /** Bound on memory + disk bytes waiting (default 1 GiB). */
  maxBytes?: number;
  /** Bytes kept in memory before they move to disk (default 4 MiB). */
  memoryBytes?: number;
  /** Bytes per segment file (default 16 MiB). */
  segmentBytes?: number;
}

/** A run of whole lines handed to the publisher, acknowledged as a unit. */
export interface Batch {
  readonly bytes: Buffer;
  /** Where it came from: a disk segment (by number) or memory. */
  readonly seg: number | undefined;
}

const SEG_RE = /^seg-(\d{12})\.ndjson$/;

export class SpoolQueue {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly memoryBytes: number;
  private readonly segmentBytes: number;
  /** Segment numbers, oldest first; the last is the one appended to. */
  private readonly segs: number[] = [];
  private readonly segSize = new Map<number, number>();
  /** Acknowledged bytes of segs[0]. */
  private headOff = 0;
  private diskBytes = 0;
  private mem: Buffer[] = [];
  private memBytes = 0;
  /** The batch handed out and not yet acknowledged. */
  private inflight: Batch | undefined;
  private nextSeg = 1;

  constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.memoryBytes = Math.min(opts.memoryBytes ?? 4 * 1024 ** 2, this.maxBytes);
    this.segmentBytes = opts.segmentBytes ?? 16 * 1024 ** 2;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new ExportError(
        `cannot create the spool directory ${this.dir}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    this.recover();
  }

  /** Segments left by an earlier run: replayed first, from the acknowledged offset. */
  private recover(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      throw new ExportError(
        `cannot read the spool directory ${this.dir}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    const nums = names
      .map((n) => SEG_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const n of nums) {
      const size = fstatSizeOf(this.segPath(n));
      this.segs.push(n);
      this.segSize.set(n, size);
      this.diskBytes += size;
      this.nextSeg = n + 1;
    }
    const head = existsSync(join(this.dir, "head")) ? readFileSync(join(this.dir, "head"), "utf8") : "";
    const m = /^(\d+) (\d+)\s*$/.exec(head);
    if (m && Number(m[1]) === this.segs[0]) {
      this.headOff = Math.min(Number(m[2]), this.segSize.get(this.segs[0]) ?? 0);
      this.diskBytes -= this.headOff;
    }
    this.dropConsumedHead();
  }

  private segPath(n: number): string {
    return join(this.dir, `seg-${String(n).padStart(12, "0")}.ndjson`);
  }

  /** Bytes waiting (memory + disk, the in-flight batch included). */
  get pendingBytes(): number {
    return (
      this.diskBytes +
      this.memBytes +
      (this.inflight?.seg === undefined ? (this.inflight?.bytes.length ?? 0) : 0)
    );
  }

  get spooledBytes(): number {
    return this.diskBytes;
  }

  get empty(): boolean {
    return this.pendingBytes === 0;
  }

  /** Queues one line (ending in '\n'); false when the bound would be passed (the caller counts it lost). */
  push(line: Buffer): boolean {
    if (this.pendingBytes + line.length > this.maxBytes) return false;
    if (this.memBytes + line.length > this.memoryBytes) this.spill();
    this.mem.push(line);
    this.memBytes += line.length;
    return true;
  }

  /**
   * Moves memory to disk. An in-flight batch taken from memory goes first: it is older
   * than everything still queued, and from now on it is acknowledged as disk bytes.
   */
  spill(): void {
    const parts: Buffer[] = [];
    const fl = this.inflight;
    if (fl && fl.seg === undefined) parts.push(fl.bytes);
    parts.push(...this.mem);
    if (parts.length === 0) return;
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    let seg = this.segs[this.segs.length - 1];
    // A fresh segment when the tail one is full, or when the in-flight batch must start one.
    if (
      seg === undefined ||
      (this.segSize.get(seg) ?? 0) >= this.segmentBytes ||
      (fl && fl.seg === undefined && this.segs.length > 0)
    ) {
      seg = this.nextSeg++;
      this.segs.push(seg);
      this.segSize.set(seg, 0);
    }
    const at = this.segSize.get(seg) ?? 0;
    const fd = this.openSeg(seg);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      throw new ExportError(
        `cannot write the spool ${this.segPath(seg)}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    } finally {
      closeSync(fd);
    }
    this.segSize.set(seg, at + bytes.length);
    this.diskBytes += bytes.length;
    if (fl && fl.seg === undefined) {
      // The in-flight batch now lives at the start of `seg`. Only valid when `seg` is
      // the head (nothing older on disk), which holds: memory batches are handed out
      // only while the disk is empty, and the segment was fresh.
      this.inflight = { bytes: fl.bytes, seg };
    }
    this.mem = [];
    this.memBytes = 0;
  }

  private openSeg(n: number): number {
    try {
      return openSync(this.segPath(n), "a", 0o600);
    } catch (e) {
      throw new ExportError(
        `cannot write the spool ${this.segPath(n)}: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
  }

  /**
   * The oldest lines not acknowledged, at most `maxBytes` (but at least one line),
   * or undefined when nothing waits. Until ack() it returns the same batch again.
   */
  peek(maxBytes: number): Batch | undefined {
    if (this.inflight) return this.inflight;
    const seg = this.segs[0];
    if (seg !== undefined) {
      const size = this.segSize.get(seg) ?? 0;
      const bytes = readLines(this.segPath(seg), this.headOff, Math.min(size - this.headOff, maxBytes));
      this.inflight = { bytes, seg };
      return this.inflight;
    }
    if (this.mem.length === 0) return undefined;
    let n = 0;
    let len = 0;
    while (n < this.mem.length && (n === 0 || len + (this.mem[n] as Buffer).length <= maxBytes)) {
      len += (this.mem[n] as Buffer).length;
      n++;
    }
    const taken = this.mem.splice(0, n);
    this.memBytes -= len;
    this.inflight = { bytes: n === 1 ? (taken[0] as Buffer) : Buffer.concat(taken, len), seg: undefined };
    return this.inflight;
  }

  /** The in-flight batch was stored by the server (or given up on): forget it. */
  ack(): void {
    const b = this.inflight;
    if (!b) return;
    this.inflight = undefined;
    if (b.seg === undefined) return;
    this.headOff += b.bytes.length;
    this.diskBytes -= b.bytes.length;
    this.dropConsumedHead();
    const head = this.segs[0];
    if (head !== undefined) writeFileSync(join(this.dir, "head.tmp"), `${head} ${this.headOff}\n`);
    if (head !== undefined) renameSync(join(this.dir, "head.tmp"), join(this.dir, "head"));
  }

  private dropConsumedHead(): void {
    for (;;) {
      const seg = this.segs[0];
      if (seg === undefined || this.headOff < (this.segSize.get(seg) ?? 0)) break;
      try {
        unlinkSync(this.segPath(seg));
      } catch {
        // Already gone: nothing to replay from it either way.
      }
      this.segs.shift();
      this.segSize.delete(seg);
      this.headOff = 0;
    }
    if (this.segs.length === 0) {
      try {
        unlinkSync(join(this.dir, "head"));
      } catch {
        // No head file yet.
      }
    }
  }

  /** Writes memory (and an in-flight memory batch) to disk, for the next run to replay. */
  close(): void {
    this.spill();
    this.inflight = undefined;
  }
}

function fstatSizeOf(path: string): number {
  const fd = openSync(path, "r");
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** Up to `len` bytes of whole lines from `path` at `off` (one whole line even when longer). */
function readLines(path: string, off: number, len: number): Buffer {
  const fd = openSync(path, "r");
  try {
    let buf = Buffer.allocUnsafe(Math.max(len, 1));
    let n = readSync(fd, buf, 0, len, off);
    let nl = buf.lastIndexOf(10, n - 1);
    while (nl < 0) {
      // One line longer than the batch limit: read on to its end.
      const more = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(more, 0, 0, n);
      const m = readSync(fd, more, n, more.length - n, off + n);
      if (m === 0)
        throw new ExportError(`${path}: the spool ends in the middle of a line at offset ${off + n}`);
      buf = more;
      n += m;
      nl = buf.lastIndexOf(10, n - 1);
    }
    return buf.subarray(0, nl + 1);
  } finally {
    closeSync(fd);
  }
}
