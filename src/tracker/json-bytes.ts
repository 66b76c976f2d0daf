// The NDJSON line of one tracer event written as UTF-8 straight into the caller's
// output buffer: the same bytes as Buffer.from(escapeJsonLine(ev)) (escape.ts:
// JSON.stringify, then a scan for terminal-unsafe characters), but without a string
// per field and per line. In a fork storm, building those strings
// was ~1.7 KB of the ~2.9 KB allocated per event (bench/tracer-path.ts --heap), i.e.
// most of what the scavenger had to clean up.
//
// Numbers that are safe integers go out as ASCII digits; keys are constant byte
// strings; strings a traced process controls (comm, filename, argv, env) are copied
// byte by byte while they are plain printable ASCII (the JSON and terminal-safe text
// of such a string is the string itself), and anything else in them goes through
// escapeJsonLine so the escaping rules live in one place (escape.ts). A field of an
// unexpected type, an event kind other than the four per-record ones, or a line that
// does not fit makes JsonEventWriter.write return -1: the caller then uses escapeJsonLine.
// test/tracker/json-line.test.ts checks byte equality with escapeJsonLine over
// generated events.
import { escapeJsonLine } from "./escape.ts";
import type { BaseEvent, ExecEvent, ExecFailedEvent, ExitEvent, ForkEvent, TraceEvent } from "./events.ts";

/** Thrown (and caught in JsonEventWriter.write) to give up on the byte path. */
class GiveUp {}
const GIVE_UP = new GiveUp();

function bad(): never {
  throw GIVE_UP;
}

/**
 * A constant (keys and punctuation, all ASCII) as little-endian 32-bit words, zero
 * padded: raw() writes it a word at a time. Copying keys byte by byte was the
 * writer's biggest cost in a fork storm's steady state (bench/README.md).
 */
interface Constant {
  readonly n: number;
  readonly words: Uint32Array;
  /** The same bytes, for the last few bytes before `end`. */
  readonly bytes: Uint8Array;
}

const k = (s: string): Constant => {
  const words = new Uint32Array(Math.ceil(s.length / 4));
  const bytes = new Uint8Array(words.buffer, 0, s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return { n: s.length, words, bytes };
};

const NULL = k("null");
const TRUE = k("true");
const FALSE = k("false");
const COMMA = k(",");
const LBRACK = k("[");
const RBRACK = k("]");
const TAIL = k("}");
const K = {
  fork: k('{"event":"fork","time":'),
  exit: k('{"event":"exit","time":'),
  exec: k('{"event":"exec","time":'),
  execFailed: k('{"event":"exec_failed","time":'),
  pid: k(',"pid":'),
  tid: k(',"tid":'),
  ppid: k(',"ppid":'),
  uid: k(',"uid":'),
  gid: k(',"gid":'),
  comm: k(',"comm":'),
  execId: k(',"exec_id":'),
  parentExecId: k(',"parent_exec_id":'),
  cgroupId: k(',"cgroup_id":'),
  pidns: k(',"pidns":'),
  nsPid: k(',"ns_pid":'),
  childPid: k(',"child_pid":'),
  childTid: k(',"child_tid":'),
  thread: k(',"thread":'),
  childExecId: k(',"child_exec_id":'),
  exitCode: k(',"exit_code":'),
  signal: k(',"signal":'),
  signalName: k(',"signal_name":'),
  coreDumped: k(',"core_dumped":'),
  lifetimeNs: k(',"lifetime_ns":'),
  status: k(',"status":'),
  filename: k(',"filename":'),
  argv: k(',"argv":'),
  argc: k(',"argc":'),
  argvTruncated: k(',"argv_truncated":'),
  env: k(',"env":'),
  envTruncated: k(',"env_truncated":'),
  oldPid: k(',"old_pid":'),
  interp: k(',"interp":'),
  exe: k(',"exe":'),
  exeMode: k(',"exe_mode":'),
  exeUid: k(',"exe_uid":'),
  exeNlink: k(',"exe_nlink":'),
  exeDirMode: k(',"exe_dir_mode":'),
  exeDirUid: k(',"exe_dir_uid":'),
  exeFlags: k(',"exe_flags":'),
  errno: k(',"errno":'),
  error: k(',"error":'),
  elapsed: k(',"elapsed_s":'),
};

/**
 * Writes NDJSON lines of tracer events. Holds the write cursor of the line being written
 * (one line at a time, synchronously), so the helpers stay small; `view` is a DataView
 * over `buf`, made again only when the caller hands a different buffer (callers reuse one).
 */
export class JsonEventWriter {
  private buf: Buffer = Buffer.alloc(0);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, 0);
  private pos = 0;
  private end = 0;

  /**
   * Writes the NDJSON line of `ev` (no newline; with `elapsedS`, plus an `elapsed_s`
   * field last) into `out` from `offset`, never past `limit`. Returns the offset after
   * the line, or -1 when the caller must use escapeJsonLine instead (bytes from `offset` on may then have been overwritten).
   */
  write(out: Buffer, offset: number, limit: number, ev: TraceEvent, elapsedS?: number): number {
    if (out !== this.buf) {
      this.buf = out;
      this.view = new DataView(out.buffer, out.byteOffset, out.length);
    }
    this.pos = offset;
    this.end = limit;
    try {
      switch (ev.event) {
        case "fork":
          this.fork(ev);
          break;
        case "exit":
          this.exit(ev);
          break;
        case "exec":
          this.exec(ev);
          break;
        case "exec_failed":
          this.execFailed(ev);
          break;
        default:
          return -1;
      }
      if (elapsedS !== undefined) {
        this.raw(K.elapsed);
        this.num(elapsedS);
      }
      this.raw(TAIL);
      return this.pos;
    } catch (e) {
      if (e !== GIVE_UP) throw e;
      return -1;
    }
  }

  /**
   * Writes a constant. The last word may spill up to 3 bytes past it, which the next
   * field overwrites; where that would reach `this.end`, the constant is copied byte by byte
   * instead, so nothing is ever written at `this.end` or beyond (write()'s contract)
   * and a line that fits is still written whole.
   */
  private raw(c: Constant): void {
    const p = this.pos;
    const n = c.n;
    if (p + n + 3 <= this.end) {
      const w = c.words;
      const v = this.view;
      for (let i = 0; i < w.length; i++) v.setUint32(p + 4 * i, w[i] as number, true);
    } else {
      if (p + n > this.end) bad();
      const b = c.bytes;
      for (let i = 0; i < n; i++) this.buf[p + i] = b[i] as number;
    }
    this.pos = p + n;
  }

  /** An ASCII string we produced ourselves (String(number)). */
  private ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.end) bad();
    for (let i = 0; i < n; i++) this.buf[this.pos + i] = s.charCodeAt(i);
    this.pos += n;
  }

  /** Decimal digits of a non-negative safe integer, written back to front. */
  private digits(v: number): void {
    let n = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
    if (this.pos + n > this.end) bad();
    for (let i = this.pos + n - 1; i >= this.pos; i--) {
      const q = Math.floor(v / 10);
      this.buf[i] = 48 + (v - q * 10);
      v = q;
    }
    this.pos += n;
  }

  /** A number as JSON.stringify writes it (non-finite → null). */
  private num(v: unknown): void {
    if (typeof v !== "number") bad();
    if (Number.isSafeInteger(v)) {
      // -0 is a safe integer too; JSON.stringify writes it as 0, and so does digits().
      if (v < 0) {
        if (this.pos >= this.end) bad();
        this.buf[this.pos++] = 45; // '-'
        this.digits(-v);
      } else this.digits(v);
    } else if (Number.isFinite(v)) this.ascii(String(v));
    else this.raw(NULL);
  }

  private bool(v: unknown): void {
    this.raw(v === true ? TRUE : v === false ? FALSE : bad());
  }

  /** A JSON string, terminal-safe: see escapeJsonLine. */
  private str(v: unknown): void {
    if (typeof v !== "string") bad();
    const n = v.length;
    // Quotes plus the text: plain ASCII is one byte per code unit.
    if (this.pos + n + 2 > this.end) bad();
    const start = this.pos;
    let p = this.pos;
    this.buf[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      // Printable ASCII other than '"' and '\\' is written as is by JSON.stringify and
      // is never escaped by escapeJsonLine.
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.pos = start;
        this.escaped(v);
        return;
      }
      this.buf[p++] = c;
    }
    this.buf[p++] = 34;
    this.pos = p;
  }

  /** The slow path of this.str(): the escaped JSON string, UTF-8 encoded. */
  private escaped(v: string): void {
    const s = escapeJsonLine(v);
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.pos + s.length * 3 > this.end) bad();
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  private strArray(a: unknown): void {
    if (!Array.isArray(a)) bad();
    this.raw(LBRACK);
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.raw(COMMA);
      this.str(a[i]);
    }
    this.raw(RBRACK);
  }

  /** An optional number field: left out when undefined, as JSON.stringify does. */
  private optNum(key: Constant, v: unknown): void {
    if (v === undefined) return;
    this.raw(key);
    this.num(v);
  }

  /** The common fields (build.ts base()) after `time`, in their insertion order there. */
  private common(ev: BaseEvent): void {
    this.str(ev.time);
    this.raw(K.pid);
    this.num(ev.pid);
    this.optNum(K.tid, ev.tid);
    this.raw(K.ppid);
    this.num(ev.ppid);
    this.raw(K.uid);
    this.num(ev.uid);
    this.raw(K.gid);
    this.num(ev.gid);
    this.raw(K.comm);
    this.str(ev.comm);
    this.raw(K.execId);
    this.str(ev.exec_id);
    this.raw(K.parentExecId);
    this.str(ev.parent_exec_id);
    this.optNum(K.cgroupId, ev.cgroup_id);
    this.optNum(K.pidns, ev.pidns);
    this.optNum(K.nsPid, ev.ns_pid);
  }

  private fork(ev: ForkEvent): void {
    this.raw(K.fork);
    this.common(ev);
    this.raw(K.childPid);
    this.num(ev.child_pid);
    this.raw(K.childTid);
    this.num(ev.child_tid);
    this.raw(K.thread);
    this.bool(ev.thread);
    if (ev.child_exec_id !== undefined) {
      this.raw(K.childExecId);
      this.str(ev.child_exec_id);
    }
  }

  private exit(ev: ExitEvent): void {
    this.raw(K.exit);
    this.common(ev);
    this.raw(K.exitCode);
    this.num(ev.exit_code);
    this.raw(K.signal);
    if (ev.signal === null) this.raw(NULL);
    else this.num(ev.signal);
    this.raw(K.signalName);
    if (ev.signal_name === null) this.raw(NULL);
    else this.str(ev.signal_name);
    this.raw(K.coreDumped);
    this.bool(ev.core_dumped);
    this.raw(K.lifetimeNs);
    this.num(ev.lifetime_ns);
    this.raw(K.status);
    this.num(ev.status);
    if (ev.thread !== undefined) {
      this.raw(K.thread);
      this.bool(ev.thread);
    }
    this.raw(K.filename);
    this.str(ev.filename);
    this.raw(K.argv);
    this.strArray(ev.argv);
    this.raw(K.argvTruncated);
    this.bool(ev.argv_truncated);
  }

  private exec(ev: ExecEvent): void {
    this.raw(K.exec);
    this.common(ev);
    this.raw(K.filename);
    this.str(ev.filename);
    this.raw(K.argv);
    this.strArray(ev.argv);
    this.raw(K.argc);
    this.num(ev.argc);
    this.raw(K.argvTruncated);
    this.bool(ev.argv_truncated);
    if (ev.env !== undefined) {
      this.raw(K.env);
      this.strArray(ev.env);
    }
    if (ev.env_truncated !== undefined) {
      this.raw(K.envTruncated);
      this.bool(ev.env_truncated);
    }
    this.optNum(K.oldPid, ev.old_pid);
    if (ev.interp !== undefined) {
      this.raw(K.interp);
      this.str(ev.interp);
    }
    if (ev.exe !== undefined) {
      this.raw(K.exe);
      this.str(ev.exe);
    }
    if (ev.exe_mode !== undefined) {
      this.raw(K.exeMode);
      this.str(ev.exe_mode);
    }
    this.optNum(K.exeUid, ev.exe_uid);
    this.optNum(K.exeNlink, ev.exe_nlink);
    if (ev.exe_dir_mode !== undefined) {
      this.raw(K.exeDirMode);
      this.str(ev.exe_dir_mode);
    }
    this.optNum(K.exeDirUid, ev.exe_dir_uid);
    if (ev.exe_flags !== undefined) {
      this.raw(K.exeFlags);
      this.strArray(ev.exe_flags);
    }
  }

  private execFailed(ev: ExecFailedEvent): void {
    this.raw(K.execFailed);
    this.common(ev);
    this.raw(K.filename);
    this.str(ev.filename);
    this.raw(K.errno);
    this.num(ev.errno);
    this.raw(K.error);
    this.str(ev.error);
  }
}
