// A trace sink that writes events to a file descriptor, as NDJSON or aligned text.
// Writes are synchronous (files, and pipes/TTYs on Linux, are written synchronously by
// Node), so ordering with whatever the caller prints at the end is trivial and nothing
// is lost at exit. A reader that goes away (EPIPE) marks the sink broken: the trace
// then stops quietly.
import { closeSync, openSync, writeSync } from "node:fs";
import { TsbpfError } from "../errors.ts";
import { escapeJsonLine } from "./escape.ts";
import type { TraceEvent } from "./events.ts";
import { TextFormatter } from "./format-text.ts";
import { JsonEventWriter } from "./json-bytes.ts";
import type { TraceEnd, TraceSink } from "./sink.ts";

/** Options of EventWriter: format and destination. */
export interface EventWriterOptions {
  /** "json": NDJSON (docs/events.md); "text": aligned columns with a header line. */
  format: "json" | "text";
  /** Colour in text mode (the caller decides: a TTY without NO_COLOR). */
  color?: boolean;
  /** "abs" wall-clock times (default) or "rel" seconds since `startedAt` (JSON: adds "elapsed_s"). */
  time?: "abs" | "rel";
  /** ms since the epoch that relative times count from. */
  startedAt: number;
  /** Text mode: print the column header first (default true). */
  header?: boolean;
}

/** A file to create (mode 0644, truncated) or an fd already open (not closed at the end). */
export type OutputTarget = { path: string } | { fd: number; name?: string } | { stream: LineStream };

/**
 * Something that takes whole lines and owns its file (src/export/rotate.ts's
 * RotatingFile: size rotation, reopen on SIGHUP). Its errors are reported as they are.
 */
export interface LineStream {
  /** `bytes` holds whole lines, each ending in '\n'. */
  write(bytes: Uint8Array): void;
  close(): void;
}

/** Output buffer: written out once it holds FLUSH_AT bytes, or after the event-loop turn. */
const OUT_BUFFER = 256 * 1024;
const FLUSH_AT = 64 * 1024;

/** Opens an output target; a file that cannot be created is a TsbpfError naming it. */
export function openOutput(target: { path: string } | { fd: number; name?: string }): {
  fd: number;
  name: string;
  own: boolean;
} {
  if ("fd" in target) return { fd: target.fd, name: target.name ?? `fd ${target.fd}`, own: false };
  try {
    return { fd: openSync(target.path, "w", 0o644), name: target.path, own: true };
  } catch (e) {
    throw new TsbpfError(`cannot write ${target.path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/** A sink writing events as NDJSON (docs/events.md) or aligned text, escaped for terminals. */
export class EventWriter implements TraceSink {
  private readonly fd: number;
  private readonly own: boolean;
  private readonly name: string;
  private readonly text: TextFormatter | undefined;
  private readonly rel: boolean;
  private readonly startedAt: number;
  /** Set when the reader of our output went away (EPIPE). */
  broken = false;

  private readonly stream: LineStream | undefined;

  constructor(target: OutputTarget, opts: EventWriterOptions) {
    if ("stream" in target) {
      this.stream = target.stream;
      this.fd = -1;
      this.own = false;
      this.name = "";
    } else {
      const o = openOutput(target);
      this.fd = o.fd;
      this.own = o.own;
      this.name = o.name;
    }
    this.rel = opts.time === "rel";
    this.startedAt = opts.startedAt;
    if (opts.format === "text") {
      this.text = new TextFormatter({
        color: opts.color ?? false,
        time: this.rel ? "relative" : "absolute",
        start: opts.startedAt,
      });
      if (opts.header !== false) this.line(this.text.header());
    }
  }

  write(ev: TraceEvent): void {
    if (this.text) {
      this.line(this.text.format(ev));
      return;
    }
    let elapsed: number | undefined;
    if (this.rel) {
      const rel = (Date.parse(ev.time) - this.startedAt) / 1000;
      elapsed = Math.round(rel * 1e6) / 1e6;
    }
    // Written as bytes into the output buffer (json-bytes.ts): no string per field or
    // line. A line that does not fit after a flush, or an event the byte writer does
    // not handle (alert, lost, a field of an unexpected type), goes through the generic
    // escaper, which writes the same bytes.
    if (this.outLen > FLUSH_AT) this.flush();
    const end = this.json.write(this.out, this.outLen, this.out.length - 1, ev, elapsed);
    if (end < 0) {
      this.line(escapeJsonLine(elapsed === undefined ? ev : { ...ev, elapsed_s: elapsed }));
      return;
    }
    this.out[end] = 10;
    this.outLen = end + 1;
    this.afterLine();
  }

  /**
   * Lines are batched: a whole ring-buffer drain arrives in one event-loop turn, and
   * one write per batch (flushed from setImmediate, after the turn) costs far less than
   * one per event. Each line is encoded straight into one reused buffer: collecting
   * strings, joining them and encoding the joined string copied every byte twice more.
   */
  line(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 for 2).
    const worst = s.length * 3 + 1;
    if (this.outLen + worst > this.out.length) {
      this.flush();
      if (worst > this.out.length) {
        this.writeAll(Buffer.from(`${s}\n`));
        return;
      }
    }
    this.outLen += this.out.write(s, this.outLen);
    this.out[this.outLen++] = 10;
    this.afterLine();
  }

  private afterLine(): void {
    if (this.outLen > FLUSH_AT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flushScheduled = false;
  private readonly out = Buffer.allocUnsafe(OUT_BUFFER);
  /** This writer's NDJSON byte path (its cursor is per instance). */
  private readonly json = new JsonEventWriter();
  private outLen = 0;

  flush(): void {
    if (this.outLen === 0) return;
    const n = this.outLen;
    this.outLen = 0;
    this.writeAll(this.out.subarray(0, n));
  }

  private writeAll(bytes: Buffer): void {
    if (this.broken) return;
    if (this.stream) {
      this.stream.write(bytes);
      return;
    }
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue;
        if (code === "EPIPE") {
          this.broken = true;
          return;
        }
        throw new TsbpfError(`cannot write ${this.name}: ${code ?? e}`);
      }
    }
  }

  private ended = false;

  /** Writes out what is buffered and closes a file this writer opened (once). */
  end(_?: TraceEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.flush();
    if (this.own) closeSync(this.fd);
    this.stream?.close();
  }
}
