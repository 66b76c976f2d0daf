// A trace sink that writes events to a file descriptor, as NDJSON or aligned text.
// Writes are synchronous (files, and pipes/TTYs on Linux, are written synchronously by
// Node), so ordering with whatever the caller prints at the end is trivial and nothing
// is lost at exit. A reader that goes away (EPIPE) marks the sink broken: the trace
// then stops quietly.
import { closeSync, constants, fchmodSync, fstatSync, openSync, statSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
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

/**
 * A file to create (truncated; mode 0600 unless `mode` says otherwise: events carry other
 * users' command lines and, with env, their environment), an fd already open (not
 * closed at the end), or a line stream.
 */
export type OutputTarget =
  | { path: string; mode?: number }
  | { fd: number; name?: string }
  | { stream: LineStream };

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

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  EIO: "input/output error",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ELOOP: "it is a symbolic link in a sticky world-writable directory",
  EISDIR: "it is a directory",
  ENOENT: "no such directory",
};
const errText = (code: string | undefined, e: unknown) =>
  code ? `${ERRNO_TEXT[code] ? `${ERRNO_TEXT[code]} ` : ""}(${code})` : String(e);

/**
 * Opens an output target; a file that cannot be created is a TsbpfError naming it. In a
 * sticky world-writable directory (/tmp) the file is opened with O_NOFOLLOW: another
 * user's symlink there must not redirect root's output (what fs.protected_symlinks
 * does, when it is on).
 */
export function openOutput(target: { path: string; mode?: number } | { fd: number; name?: string }): {
  fd: number;
  name: string;
  own: boolean;
} {
  if ("fd" in target) return { fd: target.fd, name: target.name ?? `fd ${target.fd}`, own: false };
  const mode = target.mode ?? 0o600;
  let flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
  try {
    const dir = statSync(dirname(resolve(target.path)));
    if ((dir.mode & 0o1002) === 0o1002) flags |= constants.O_NOFOLLOW;
  } catch {
    // open() below reports a missing directory
  }
  try {
    const fd = openSync(target.path, flags, mode);
    // An existing file keeps its mode through open(2): set ours if it is ours.
    try {
      const st = fstatSync(fd);
      if (st.isFile() && st.uid === (process.geteuid?.() ?? st.uid) && (st.mode & 0o7777) !== mode)
        fchmodSync(fd, mode);
    } catch {
      // not fatal: the file is open
    }
    return { fd, name: target.path, own: true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TsbpfError(`cannot write ${target.path}: ${errText(code, e)}`);
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
  /** Set when the reader of our output went away (EPIPE), or a write failed. */
  broken = false;
  /**
   * Why writing failed (a full disk, /dev/full, an I/O error), as one line: the trace
   * stops (broken), the caller detaches and reports it. EPIPE is not a failure.
   */
  writeError: string | undefined;

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
      try {
        this.stream.write(bytes);
      } catch (e) {
        // A full disk under -o: stop the trace with one line (the caller reports it).
        this.broken = true;
        const code = (e as NodeJS.ErrnoException).code;
        const msg = (e as Error).message;
        this.writeError =
          code && msg.endsWith(`: ${code}`) ? `${msg.slice(0, -code.length)}${errText(code, e)}` : msg;
      }
      return;
    }
    let off = 0;
    while (off < bytes.length) {
      try {
        off += writeSync(this.fd, bytes, off, bytes.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") continue;
        this.broken = true;
        if (code !== "EPIPE") this.writeError = `cannot write ${this.name}: ${errText(code, e)}`;
        return;
      }
    }
  }

  private ended = false;

  /** Writes out what is buffered and closes a file this writer opened (once). */
  end(_?: TraceEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.flush();
    this.stream?.close();
    if (!this.own) return;
    try {
      closeSync(this.fd);
    } catch (e) {
      // close(2) reports delayed write errors (NFS, quotas).
      this.writeError ??= `cannot write ${this.name}: ${errText((e as NodeJS.ErrnoException).code, e)}`;
    }
  }
}
