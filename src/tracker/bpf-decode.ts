// Turns raw `events` ring-buffer records of bpf/process.bpf.o into TraceEvents.
// The enums come from process.gen.ts (`npm run gen`: tsbpf gen --types-only on the
// object; test/gen/gen.test.ts fails when it is stale).
// Field positions come from the object's own BTF (struct tsbpf_event_hdr,
// tsbpf_fork_event, ... are anchored in process.bpf.c so clang emits them), each
// member's offset, size and integer type checked once at start: a change in
// process.h shows up here as a clear error, never as silently shifted fields. Per
// record we read scalars straight from the DataView, u64s as Numbers while they are
// below 2^53 (no BigInt per field), and comm through a small cache of decoded names:
// the allocations left are the task fields, the event itself and its own strings
// (the ring buffer's hot path; a fork storm's GC was a third of the tracer's CPU).
import type { Btf } from "../btf/btf.ts";
import type { BtfMember } from "../btf/types.ts";
import { TsbpfError } from "../errors.ts";
import { execEvent, execFailedEvent, exitEvent, forkEvent, type RawTask } from "./build.ts";
import { cString, IsoTimeFormatter, startTicks, type TraceEvent } from "./events.ts";
import { TsbpfEventType, TsbpfExecFlags } from "./process.gen.ts";

/** enum tsbpf_event_type (bpf/process.h), from the bindings `tsbpf gen` writes for the object. */
export const EV = {
  FORK: TsbpfEventType.TSBPF_EV_FORK,
  THREAD: TsbpfEventType.TSBPF_EV_THREAD,
  EXEC: TsbpfEventType.TSBPF_EV_EXEC,
  EXEC_FAILED: TsbpfEventType.TSBPF_EV_EXEC_FAILED,
  EXIT: TsbpfEventType.TSBPF_EV_EXIT,
  THREAD_EXIT: TsbpfEventType.TSBPF_EV_THREAD_EXIT,
} as const;
const EXEC_ARGS_TRUNCATED = TsbpfExecFlags.TSBPF_EXEC_ARGS_TRUNCATED;
const EXEC_ENV_CAPTURED = TsbpfExecFlags.TSBPF_EXEC_ENV_CAPTURED;
const EXEC_ENV_TRUNCATED = TsbpfExecFlags.TSBPF_EXEC_ENV_TRUNCATED;
/** enum tsbpf_exec_flags bits about the executed file (bpf/process.h). */
const EXE_FLAG_BITS =
  TsbpfExecFlags.TSBPF_EXEC_EXE_TRUNCATED |
  TsbpfExecFlags.TSBPF_EXEC_EXE_UNLINKED |
  TsbpfExecFlags.TSBPF_EXEC_EXE_ANON |
  TsbpfExecFlags.TSBPF_EXEC_EXE_ANCESTOR_WW |
  TsbpfExecFlags.TSBPF_EXEC_SUSPICIOUS;

/** The object's BTF does not describe the records the way this tracer expects. */
export class RecordLayoutError extends TsbpfError {}

type Read = (dv: DataView, off: number) => number;
type ReadU64 = (dv: DataView, off: number) => number | bigint;

/** Reader of one struct member: offset in bytes and a decoder compiled from its BTF type. */
function member(btf: Btf, structName: string, name: string): { off: number; size: number; typeId: number } {
  const ids = btf.findByNameKind(structName, "struct");
  if (ids.length === 0) throw new RecordLayoutError(`process.bpf.o: BTF has no struct ${structName}`);
  const t = btf.type(ids[0] as number) as { members?: BtfMember[] };
  const m = t.members?.find((x) => x.name === name);
  if (m === undefined || m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0)
    throw new RecordLayoutError(`process.bpf.o: struct ${structName} has no byte-aligned member '${name}'`);
  return { off: m.bitOffset / 8, size: btf.sizeof(m.type), typeId: m.type };
}

// Per-record reads go straight to the DataView (little-endian: BPF's byte order on
// every host we load on): the BTF check above runs once at start, and a compiled
// codec per field (bounds check, closure, BigInt→Number) cost more than the event.
const getU32: Read = (dv, off) => dv.getUint32(off, true);
const getI32: Read = (dv, off) => dv.getInt32(off, true);
const TWO_32 = 2 ** 32;
/**
 * A __u64 as a Number while it is below 2^53, so exact: timestamps and start times in
 * ns since boot stay below it for the first 104 days of uptime; after that (or for a
 * value that is not a time) it comes back as a BigInt and the slower exact path runs.
 */
const getU64: ReadU64 = (dv, off) => {
  const hi = dv.getUint32(off + 4, true);
  return hi < 0x200000 ? hi * TWO_32 + dv.getUint32(off, true) : dv.getBigUint64(off, true);
};
/**
 * A __u64 as a Number, rounded to the nearest double above 2^53: the same value
 * Number(bigint) gives (hi * 2^32 is exact, the sum is rounded once), for fields the
 * events carry as numbers anyway (cgroup_id, lifetime_ns).
 */
const getU64Num: Read = (dv, off) => dv.getUint32(off + 4, true) * TWO_32 + dv.getUint32(off, true);

/** The member's type with typedefs/modifiers skipped, which must be an int or enum of `size` bytes. */
function intMember(btf: Btf, s: string, name: string, size: number): { off: number; signed: boolean } {
  const m = member(btf, s, name);
  if (m.size !== size)
    throw new RecordLayoutError(`process.bpf.o: ${s}.${name} is ${m.size} bytes, expected ${size}`);
  const t = btf.type(btf.resolve(m.typeId)) as { kind: string; signed?: boolean; bool?: boolean };
  if ((t.kind !== "int" && t.kind !== "enum" && t.kind !== "enum64") || t.bool === true)
    throw new RecordLayoutError(`process.bpf.o: ${s}.${name} is a ${t.kind}, expected an integer`);
  return { off: m.off, signed: t.signed === true };
}

function u32(btf: Btf, s: string, name: string): { off: number; read: Read } {
  const m = intMember(btf, s, name, 4);
  return { off: m.off, read: m.signed ? getI32 : getU32 };
}

function u64(btf: Btf, s: string, name: string): { off: number; read: ReadU64; num: Read } {
  const m = intMember(btf, s, name, 8);
  // Every 64-bit field of process.h is a __u64 (times, ids, counts).
  if (m.signed) throw new RecordLayoutError(`process.bpf.o: ${s}.${name} is signed, expected a __u64`);
  return { off: m.off, read: getU64, num: getU64Num };
}

function structSize(btf: Btf, name: string): number {
  const ids = btf.findByNameKind(name, "struct");
  if (ids.length === 0) throw new RecordLayoutError(`process.bpf.o: BTF has no struct ${name}`);
  return btf.sizeof(ids[0] as number);
}

/**
 * task->comm (NUL-padded, at most 16 bytes) as a string. Almost always ASCII, and for
 * so few bytes a char loop is several times cheaper than a TextDecoder call; anything
 * else goes through cString (UTF-8 with surrogateescape).
 */
function commString(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) {
    const c = bytes[i] as number;
    if (c === 0) return s;
    if (c >= 0x80) return cString(bytes.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Decoded comm strings, direct-mapped by a hash of the 16 bytes: a storm's records
 * carry a handful of names, so a hit (four word compares) replaces building the
 * string per record, and the table's entries share one string per name.
 */
const COMM_SLOTS = 256;

class CommCache {
  private readonly words = new Uint32Array(COMM_SLOTS * 4);
  private readonly strs: (string | undefined)[] = new Array(COMM_SLOTS).fill(undefined);

  get(dv: DataView, off: number): string {
    const a = dv.getUint32(off, true);
    const b = dv.getUint32(off + 4, true);
    const c = dv.getUint32(off + 8, true);
    const d = dv.getUint32(off + 12, true);
    const slot =
      (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c ^ d, 0x85ebca6b), 0x27d4eb2f) >>> 24) %
      COMM_SLOTS;
    const w = this.words;
    const i = slot * 4;
    const hit = this.strs[slot];
    if (hit !== undefined && w[i] === a && w[i + 1] === b && w[i + 2] === c && w[i + 3] === d) return hit;
    const str = commString(new Uint8Array(dv.buffer, dv.byteOffset + off, 16), 0, 16);
    w[i] = a;
    w[i + 1] = b;
    w[i + 2] = c;
    w[i + 3] = d;
    this.strs[slot] = str;
    return str;
  }
}

export interface DecoderOptions {
  /** Added to ts_boot_ns (CLOCK_BOOTTIME) to get ns since the epoch. */
  bootToRealtimeNs: bigint;
  /**
   * Parent lookup for fork events, whose header describes the child. With its
   * exec_id and start_ticks, the parent's exec_id string is reused when it matches.
   */
  parentOf?: (
    pid: number,
  ) => { ppid: number; parent_exec_id: string; exec_id?: string; start_ticks?: number } | undefined;
}

/**
 * One compiled decoder: `decode(view, offset, length)` → event, or undefined for
 * unknown or short records. The record is `length` bytes at `offset` of `view` (the
 * ring-buffer reader's zero-copy window); nothing is kept after the call.
 */
export interface RecordDecoder {
  decode(view: DataView, offset: number, length: number): TraceEvent | undefined;
  /** The object's BTF the record layout was read from. */
  readonly btf: Btf;
}

export function makeRecordDecoder(btf: Btf, opts: DecoderOptions): RecordDecoder {
  const H = "tsbpf_event_hdr";
  const ts = u64(btf, H, "ts_boot_ns");
  const cg = u64(btf, H, "cgroup_id");
  const eid = u64(btf, H, "exec_id");
  const peid = u64(btf, H, "parent_exec_id");
  const type = u32(btf, H, "type");
  const pid = u32(btf, H, "pid");
  const tid = u32(btf, H, "tid");
  const ppid = u32(btf, H, "ppid");
  const uid = u32(btf, H, "uid");
  const gid = u32(btf, H, "gid");
  const pidns = u32(btf, H, "pidns_ino");
  const nsPid = u32(btf, H, "ns_pid");
  const comm = member(btf, H, "comm");
  const hdrSize = structSize(btf, H);
  // Every per-type struct starts with `struct tsbpf_event_hdr hdr`.
  const hdrOff = (s: string) => member(btf, s, "hdr").off;
  for (const s of ["tsbpf_fork_event", "tsbpf_exec_event", "tsbpf_exec_failed_event", "tsbpf_exit_event"])
    if (hdrOff(s) !== 0) throw new RecordLayoutError(`process.bpf.o: ${s}.hdr is not at offset 0`);

  const F = "tsbpf_fork_event";
  const fParentPid = u32(btf, F, "parent_pid");
  const fParentTid = u32(btf, F, "parent_tid");
  const fSize = structSize(btf, F);

  const X = "tsbpf_exec_event";
  const xOld = u32(btf, X, "old_pid");
  const xArgc = u32(btf, X, "argc");
  const xEnvc = u32(btf, X, "envc");
  const xFn = u32(btf, X, "filename_len");
  const xInterp = u32(btf, X, "interp_len");
  const xArgs = u32(btf, X, "args_len");
  const xEnv = u32(btf, X, "env_len");
  const xFlags = u32(btf, X, "flags");
  const xExeLen = u32(btf, X, "exe_len");
  const xExeMode = u32(btf, X, "exe_mode");
  const xExeUid = u32(btf, X, "exe_uid");
  const xExeNlink = u32(btf, X, "exe_nlink");
  const xDirMode = u32(btf, X, "dir_mode");
  const xDirUid = u32(btf, X, "dir_uid");
  const xFsMagic = u32(btf, X, "exe_fs_magic");
  const xSize = structSize(btf, X);

  const XF = "tsbpf_exec_failed_event";
  const xfErr = u32(btf, XF, "error");
  const xfFn = u32(btf, XF, "filename_len");
  const xfSize = structSize(btf, XF);

  const E = "tsbpf_exit_event";
  const eLife = u64(btf, E, "lifetime_ns");
  const eStatus = u32(btf, E, "status");
  const eSize = structSize(btf, E);

  const offset = opts.bootToRealtimeNs;
  const parentOf = opts.parentOf;
  if (comm.size !== 16)
    throw new RecordLayoutError(`process.bpf.o: ${H}.comm is ${comm.size} bytes, expected 16`);
  // Event time in µs since the epoch = floor((ts + offRemNs) / 1000) + offUs, with the
  // boot→realtime offset split so every term is an exact Number (see getU64).
  const offUs = offset >= 0n ? Number(offset / 1000n) : Number.NaN;
  const offRemNs = offset >= 0n ? Number(offset % 1000n) : 0;
  const iso = new IsoTimeFormatter();
  const timeOf = (t: number | bigint): string => {
    if (typeof t === "number" && Number.isFinite(offUs)) {
      const ns = t + offRemNs;
      let us = Math.floor(ns / 1000);
      if (us * 1000 > ns) us--; // a float quotient may round up across an integer
      const epochUs = us + offUs;
      if (epochUs <= Number.MAX_SAFE_INTEGER) return iso.fromUs(epochUs);
    }
    return iso.fromNs(BigInt(t) + offset);
  };
  const comms = new CommCache();

  type Known = ReturnType<NonNullable<DecoderOptions["parentOf"]>>;
  /** A table entry's exec_id string when its start time is `startNs`'s (else undefined: pid reuse). */
  const idIfSame = (e: Known, startNs: bigint | number): string | undefined =>
    e?.exec_id && e.start_ticks === startTicks(startNs) ? e.exec_id : undefined;

  /**
   * The task's exec_id and parent_exec_id strings taken from the table's entries when
   * their start times match (the process and its current parent are almost always
   * known by the time it execs or exits), instead of formatting two new strings per
   * record: an exit or exec then allocates only its time string. A mismatch (pid
   * reuse, an entry not seen yet) leaves them to be formatted from the record.
   */
  const knownIds = (t: RawTask): RawTask => {
    if (parentOf === undefined) return t;
    t.execId = idIfSame(parentOf(t.tgid), t.startBoottimeNs);
    if (t.ppid > 0) t.parentExecId = idIfSame(parentOf(t.ppid), t.parentStartBoottimeNs);
    return t;
  };

  const task = (dv: DataView, b: number): RawTask => ({
    time: timeOf(ts.read(dv, b + ts.off)),
    tgid: pid.read(dv, b + pid.off),
    tid: tid.read(dv, b + tid.off),
    ppid: ppid.read(dv, b + ppid.off),
    uid: uid.read(dv, b + uid.off),
    gid: gid.read(dv, b + gid.off),
    comm: comms.get(dv, b + comm.off),
    startBoottimeNs: eid.read(dv, b + eid.off),
    parentStartBoottimeNs: peid.read(dv, b + peid.off),
    execId: undefined,
    parentExecId: undefined,
    cgroupId: cg.num(dv, b + cg.off),
    pidnsInode: pidns.read(dv, b + pidns.off),
    nsPid: nsPid.read(dv, b + nsPid.off),
  });

  const decoder: RecordDecoder = {
    btf,

    decode(dv: DataView, b: number, len: number): TraceEvent | undefined {
      if (len < hdrSize) return undefined;
      // The record's bytes as a Uint8Array only where strings need them (exec
      // filename/argv; a comm not in the cache makes its own): most records need none.
      const t = type.read(dv, b + type.off);
      switch (t) {
        case EV.FORK:
        case EV.THREAD: {
          if (len < fSize) return undefined;
          const child = task(dv, b);
          const thread = t === EV.THREAD;
          const ppidT = fParentPid.read(dv, b + fParentPid.off);
          // The header is the CHILD; the event's common fields describe the parent
          // (docs/events.md). For a thread the parent is the same process; for a
          // process fork the child's real_parent is the caller unless CLONE_PARENT.
          const parentKnown = parentOf?.(ppidT);
          const parentStart = thread ? child.startBoottimeNs : child.parentStartBoottimeNs;
          const parent: RawTask = {
            time: child.time,
            tgid: ppidT,
            tid: fParentTid.read(dv, b + fParentTid.off),
            ppid: thread ? child.ppid : (parentKnown?.ppid ?? 0),
            uid: child.uid,
            gid: child.gid,
            comm: child.comm,
            startBoottimeNs: parentStart,
            // A thread's parent_exec_id is its process's parent's (the header's);
            // a process fork's is the caller's own parent's, from the table.
            parentStartBoottimeNs: thread ? child.parentStartBoottimeNs : 0,
            // The caller's exec_id string from its table entry when the start time
            // matches (no new string per fork); formatted otherwise.
            execId: idIfSame(parentKnown, parentStart),
            parentExecId: thread ? undefined : (parentKnown?.parent_exec_id ?? ""),
            cgroupId: child.cgroupId,
            // The header's namespace fields are the child's; a new process may be in a
            // new pid namespace (CLONE_NEWPID), so they are not the caller's.
            pidnsInode: thread ? child.pidnsInode : undefined,
            nsPid: thread ? child.nsPid : undefined,
          };
          const ev = forkEvent(parent, {
            childPid: child.tgid,
            childTid: child.tid,
            thread,
            childStartBoottimeNs: child.startBoottimeNs,
          });
          // CLONE_PARENT: the caller is not the child's parent; its start time is unknown here.
          if (!thread && child.ppid !== ppidT) ev.exec_id = "";
          return ev;
        }
        case EV.EXEC: {
          if (len < xSize) return undefined;
          const fnLen = xFn.read(dv, b + xFn.off);
          const interpLen = xInterp.read(dv, b + xInterp.off);
          const argsLen = xArgs.read(dv, b + xArgs.off);
          const envLen = xEnv.read(dv, b + xEnv.off);
          const flags = xFlags.read(dv, b + xFlags.off);
          const exeLen = xExeLen.read(dv, b + xExeLen.off);
          const p0 = xSize;
          const pe = p0 + fnLen + interpLen;
          const p1 = pe + exeLen;
          const p2 = p1 + argsLen;
          if (p2 + envLen > len) return undefined;
          const envc = xEnvc.read(dv, b + xEnvc.off);
          const u8 = new Uint8Array(dv.buffer, dv.byteOffset + b, len);
          return execEvent(knownIds(task(dv, b)), {
            filename: u8.subarray(p0, p0 + fnLen),
            ...(interpLen > 0 ? { interp: u8.subarray(p0 + fnLen, pe) } : {}),
            ...(exeLen > 0
              ? {
                  exe: u8.subarray(pe, p1),
                  file: {
                    mode: xExeMode.read(dv, b + xExeMode.off),
                    uid: xExeUid.read(dv, b + xExeUid.off),
                    nlink: xExeNlink.read(dv, b + xExeNlink.off),
                    dirMode: xDirMode.read(dv, b + xDirMode.off),
                    dirUid: xDirUid.read(dv, b + xDirUid.off),
                    fsMagic: xFsMagic.read(dv, b + xFsMagic.off),
                    flags: flags & EXE_FLAG_BITS,
                  },
                }
              : {}),
            argvBytes: u8.subarray(p1, p2),
            argc: xArgc.read(dv, b + xArgc.off),
            argvTruncated: (flags & EXEC_ARGS_TRUNCATED) !== 0,
            ...(flags & EXEC_ENV_CAPTURED
              ? {
                  envBytes: u8.subarray(p2, p2 + envLen),
                  envc,
                  envTruncated: (flags & EXEC_ENV_TRUNCATED) !== 0,
                }
              : {}),
            oldPid: xOld.read(dv, b + xOld.off),
          });
        }
        case EV.EXEC_FAILED: {
          if (len < xfSize) return undefined;
          const fnLen = xfFn.read(dv, b + xfFn.off);
          if (xfSize + fnLen > len) return undefined;
          return execFailedEvent(task(dv, b), {
            filename: new Uint8Array(dv.buffer, dv.byteOffset + b + xfSize, fnLen),
            errno: xfErr.read(dv, b + xfErr.off),
          });
        }
        case EV.EXIT:
        case EV.THREAD_EXIT: {
          if (len < eSize) return undefined;
          return exitEvent(knownIds(task(dv, b)), {
            status: eStatus.read(dv, b + eStatus.off),
            lifetimeNs: eLife.num(dv, b + eLife.off),
            thread: t === EV.THREAD_EXIT,
          });
        }
        default:
          return undefined;
      }
    },
  };
  return decoder;
}
