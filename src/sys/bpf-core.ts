// bpf(2) itself: one entry point, errno -> SyscallError, and the recorder that lets
// `tsbpf explain` show every call of a load (withBpfRecorder, scoped to one call).
import { BPF_CMD_NAMES } from "../uapi.ts";
import { ATTR_SIZE, decodeAttr } from "./bpf-attr.ts";
import { SyscallError } from "./errors.ts";
import { bpfRecorder as recorder, setBpfRecorder, sys } from "./syscalls.ts";

export interface BpfCallRecord {
  cmd: number;
  cmdName: string;
  /** Attr fields that were set, named as in linux/bpf.h; buffers shown as "<N bytes>". */
  attr: Record<string, unknown>;
  result: number;
  errno?: number;
  durationNs: number;
}
export type BpfRecorder = (e: BpfCallRecord) => void;

/**
 * Runs `fn` with `rec` seeing every bpf() call it makes, and only those: the recorder
 * is removed when fn returns or throws (fn is synchronous, so no other caller's calls
 * can interleave). Nested recorders both see the inner calls' records.
 */
export function withBpfRecorder<T>(rec: BpfRecorder, fn: () => T): T {
  const outer = recorder;
  setBpfRecorder(
    outer
      ? (e) => {
          rec(e);
          outer(e);
        }
      : rec,
  );
  try {
    return fn();
  } finally {
    setBpfRecorder(outer);
  }
}

/** What a caller knows about a call, for messages and the recorder. */
export interface BpfCallContext {
  /** "map 'events'", "program 'handle_exec'", "pin /sys/fs/bpf/x" */
  what?: string;
  /** Readable attr fields (instead of decoding the raw attr). */
  fields?: Record<string, unknown>;
}

export function cmdName(cmd: number): string {
  return BPF_CMD_NAMES[cmd] ?? `BPF_CMD_${cmd}`;
}

/**
 * bpf(cmd, attr, size): returns the fd or result, throws SyscallError on -1.
 * `attr` must be at least ATTR_SIZE bytes long for commands whose struct is that long
 * (the kernel copies min(size, sizeof(attr)) and checks the tail is zero).
 */
export function bpf(cmd: number, attr: Uint8Array, ctx?: BpfCallContext): number {
  if (recorder !== undefined) return recordedCall(recorder, cmd, attr, ctx);
  const r = sys.bpf(cmd, attr, attr.byteLength);
  if (r < 0) throw bpfError(cmd, attr, sys.errno(), ctx);
  return r;
}

/**
 * bpf() returning -errno instead of throwing: for probes and for the loops
 * (GET_NEXT_KEY, LOOKUP) where ENOENT is an expected answer, not an error.
 */
export function bpfTry(cmd: number, attr: Uint8Array): number {
  if (recorder !== undefined) {
    try {
      return recordedCall(recorder, cmd, attr, undefined);
    } catch (e) {
      if (e instanceof SyscallError) return -e.errno;
      throw e;
    }
  }
  const r = sys.bpf(cmd, attr, attr.byteLength);
  return r < 0 ? -sys.errno() : r;
}

function recordedCall(
  rec: BpfRecorder,
  cmd: number,
  attr: Uint8Array,
  ctx: BpfCallContext | undefined,
): number {
  const t0 = process.hrtime.bigint();
  const r = sys.bpf(cmd, attr, attr.byteLength);
  const err = r < 0 ? sys.errno() : 0;
  const durationNs = Number(process.hrtime.bigint() - t0);
  const e: BpfCallRecord = {
    cmd,
    cmdName: cmdName(cmd),
    attr: { ...decodeAttr(cmd, attr), ...(ctx?.fields ?? {}) },
    result: r,
    durationNs,
  };
  if (err) e.errno = err;
  rec(e);
  if (r < 0) throw bpfError(cmd, attr, err, ctx);
  return r;
}

export function bpfError(
  cmd: number,
  attr: Uint8Array,
  errno: number,
  ctx: BpfCallContext | undefined,
): SyscallError {
  const fields = { ...decodeAttr(cmd, attr), ...(ctx?.fields ?? {}) };
  return new SyscallError(`bpf(${cmdName(cmd)})`, errno, { what: ctx?.what, fields });
}

/** A zeroed attr buffer in off-heap memory, reusable by a caller that owns it. */
export function newAttr(): Uint8Array {
  return new Uint8Array(new ArrayBuffer(ATTR_SIZE));
}
