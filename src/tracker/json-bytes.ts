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
// does not fit makes writeEventJson return -1: the caller then uses escapeJsonLine.
// test/tracker/json-line.test.ts checks byte equality with escapeJsonLine over
// generated events.
import { escapeJsonLine } from "./escape.ts";
import type { BaseEvent, ExecEvent, ExecFailedEvent, ExitEvent, ForkEvent, TraceEvent } from "./events.ts";

/** Thrown (and caught in writeEventJson) to give up on the byte path. */
class GiveUp {}
const GIVE_UP = new GiveUp();

// The write cursor: module state rather than arguments, so the helpers stay small
// (one line is written at a time, synchronously). `view` is a DataView over `buf`,
// made again only when the caller hands a different buffer (the CLI reuses one).
let buf: Buffer = Buffer.alloc(0);
let view = new DataView(buf.buffer, buf.byteOffset, 0);
let pos = 0;
let end = 0;

function bad(): never {
  throw GIVE_UP;
}

/**
 * A constant (keys and punctuation, all ASCII) as little-endian 32-bit words, zero
 * padded: raw() writes it a word at a time. Copying keys byte by byte was the
 * writer's biggest cost (the hottest JIT function of a fork storm's steady state,
 * `perf record` with --perf-basic-prof); word stores measured 2.5x faster per key in
 * isolation (17 vs 45 ns).
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

/**
 * Writes a constant. The last word may spill up to 3 bytes past it, which the next
 * field overwrites; where that would reach `end`, the constant is copied byte by byte
 * instead, so nothing is ever written at `end` or beyond (writeEventJson's contract)
 * and a line that fits is still written whole.
 */
function raw(c: Constant): void {
  const p = pos;
  const n = c.n;
  if (p + n + 3 <= end) {
    const w = c.words;
    const v = view;
    for (let i = 0; i < w.length; i++) v.setUint32(p + 4 * i, w[i] as number, true);
  } else {
    if (p + n > end) bad();
    const b = c.bytes;
    for (let i = 0; i < n; i++) buf[p + i] = b[i] as number;
  }
  pos = p + n;
}

/** An ASCII string we produced ourselves (String(number)). */
function ascii(s: string): void {
  const n = s.length;
  if (pos + n > end) bad();
  for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
  pos += n;
}

/** Decimal digits of a non-negative safe integer, written back to front. */
function digits(v: number): void {
  let n = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
  if (pos + n > end) bad();
  for (let i = pos + n - 1; i >= pos; i--) {
    const q = Math.floor(v / 10);
    buf[i] = 48 + (v - q * 10);
    v = q;
  }
  pos += n;
}

/** A number as JSON.stringify writes it (non-finite → null). */
function num(v: unknown): void {
  if (typeof v !== "number") bad();
  if (Number.isSafeInteger(v)) {
    // -0 is a safe integer too; JSON.stringify writes it as 0, and so does digits().
    if (v < 0) {
      if (pos >= end) bad();
      buf[pos++] = 45; // '-'
      digits(-v);
    } else digits(v);
  } else if (Number.isFinite(v)) ascii(String(v));
  else raw(NULL);
}

function bool(v: unknown): void {
  raw(v === true ? TRUE : v === false ? FALSE : bad());
}

/** A JSON string, terminal-safe: see escapeJsonLine. */
function str(v: unknown): void {
  if (typeof v !== "string") bad();
  const n = v.length;
  // Quotes plus the text: plain ASCII is one byte per code unit.
  if (pos + n + 2 > end) bad();
  const start = pos;
  let p = pos;
  buf[p++] = 34;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    // Printable ASCII other than '"' and '\\' is written as is by JSON.stringify and
    // is never escaped by escapeJsonLine.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      pos = start;
      escaped(v);
      return;
    }
    buf[p++] = c;
  }
  buf[p++] = 34;
  pos = p;
}

/** The slow path of str(): the escaped JSON string, UTF-8 encoded. */
function escaped(v: string): void {
  const s = escapeJsonLine(v);
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (pos + s.length * 3 > end) bad();
  pos += buf.write(s, pos, "utf8");
}

function strArray(a: unknown): void {
  if (!Array.isArray(a)) bad();
  raw(LBRACK);
  for (let i = 0; i < a.length; i++) {
    if (i > 0) raw(COMMA);
    str(a[i]);
  }
  raw(RBRACK);
}

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

/** An optional number field: left out when undefined, as JSON.stringify does. */
function optNum(key: Constant, v: unknown): void {
  if (v === undefined) return;
  raw(key);
  num(v);
}

/** The common fields (build.ts base()) after `time`, in their insertion order there. */
function common(ev: BaseEvent): void {
  str(ev.time);
  raw(K.pid);
  num(ev.pid);
  optNum(K.tid, ev.tid);
  raw(K.ppid);
  num(ev.ppid);
  raw(K.uid);
  num(ev.uid);
  raw(K.gid);
  num(ev.gid);
  raw(K.comm);
  str(ev.comm);
  raw(K.execId);
  str(ev.exec_id);
  raw(K.parentExecId);
  str(ev.parent_exec_id);
  optNum(K.cgroupId, ev.cgroup_id);
  optNum(K.pidns, ev.pidns);
  optNum(K.nsPid, ev.ns_pid);
}

function fork(ev: ForkEvent): void {
  raw(K.fork);
  common(ev);
  raw(K.childPid);
  num(ev.child_pid);
  raw(K.childTid);
  num(ev.child_tid);
  raw(K.thread);
  bool(ev.thread);
  if (ev.child_exec_id !== undefined) {
    raw(K.childExecId);
    str(ev.child_exec_id);
  }
}

function exit(ev: ExitEvent): void {
  raw(K.exit);
  common(ev);
  raw(K.exitCode);
  num(ev.exit_code);
  raw(K.signal);
  if (ev.signal === null) raw(NULL);
  else num(ev.signal);
  raw(K.signalName);
  if (ev.signal_name === null) raw(NULL);
  else str(ev.signal_name);
  raw(K.coreDumped);
  bool(ev.core_dumped);
  raw(K.lifetimeNs);
  num(ev.lifetime_ns);
  raw(K.status);
  num(ev.status);
  if (ev.thread !== undefined) {
    raw(K.thread);
    bool(ev.thread);
  }
  raw(K.filename);
  str(ev.filename);
  raw(K.argv);
  strArray(ev.argv);
  raw(K.argvTruncated);
  bool(ev.argv_truncated);
}

function exec(ev: ExecEvent): void {
  raw(K.exec);
  common(ev);
  raw(K.filename);
  str(ev.filename);
  raw(K.argv);
  strArray(ev.argv);
  raw(K.argc);
  num(ev.argc);
  raw(K.argvTruncated);
  bool(ev.argv_truncated);
  if (ev.env !== undefined) {
    raw(K.env);
    strArray(ev.env);
  }
  if (ev.env_truncated !== undefined) {
    raw(K.envTruncated);
    bool(ev.env_truncated);
  }
  optNum(K.oldPid, ev.old_pid);
  if (ev.interp !== undefined) {
    raw(K.interp);
    str(ev.interp);
  }
  if (ev.exe !== undefined) {
    raw(K.exe);
    str(ev.exe);
  }
  if (ev.exe_mode !== undefined) {
    raw(K.exeMode);
    str(ev.exe_mode);
  }
  optNum(K.exeUid, ev.exe_uid);
  optNum(K.exeNlink, ev.exe_nlink);
  if (ev.exe_dir_mode !== undefined) {
    raw(K.exeDirMode);
    str(ev.exe_dir_mode);
  }
  optNum(K.exeDirUid, ev.exe_dir_uid);
  if (ev.exe_flags !== undefined) {
    raw(K.exeFlags);
    strArray(ev.exe_flags);
  }
}

function execFailed(ev: ExecFailedEvent): void {
  raw(K.execFailed);
  common(ev);
  raw(K.filename);
  str(ev.filename);
  raw(K.errno);
  num(ev.errno);
  raw(K.error);
  str(ev.error);
}

/**
 * Writes the NDJSON line of `ev` (no newline; with `elapsedS`, plus an `elapsed_s`
 * field last) into `out` from `offset`, never past `limit`. Returns the offset after
 * the line, or -1 when the caller must use escapeJsonLine instead (bytes from `offset` on may then have been overwritten).
 */
export function writeEventJson(
  out: Buffer,
  offset: number,
  limit: number,
  ev: TraceEvent,
  elapsedS?: number,
): number {
  if (out !== buf) {
    buf = out;
    view = new DataView(out.buffer, out.byteOffset, out.length);
  }
  pos = offset;
  end = limit;
  try {
    switch (ev.event) {
      case "fork":
        fork(ev);
        break;
      case "exit":
        exit(ev);
        break;
      case "exec":
        exec(ev);
        break;
      case "exec_failed":
        execFailed(ev);
        break;
      default:
        return -1;
    }
    if (elapsedS !== undefined) {
      raw(K.elapsed);
      num(elapsedS);
    }
    raw(TAIL);
    return pos;
  } catch (e) {
    if (e !== GIVE_UP) throw e;
    return -1;
  }
}
