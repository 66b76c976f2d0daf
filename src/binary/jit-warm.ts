// Runs the tracer's per-event code (process table, NDJSON writer, comm decoding) on a
// few synthetic events before the real ones, on a throwaway table and buffer.
//
// Why: V8 records type feedback for a function only after it has run a while (lazy
// feedback allocation), and TurboFan turns every path without feedback into a deopt.
// A path the trace takes rarely, or only in its first events (the first exec, a first
// child, an exit by a signal, a new process name), then reached the optimized code in
// the middle of a fork storm with no feedback: the function deoptimized and was
// compiled again, on a core the traced workload needs (bench/jit-cost.ts counts them). The events here are built by the same constructors
// as real ones (src/tracker/build.ts), with the same fields present, so they teach V8 the shapes
// real events have and no other.

import type { Btf } from "../btf/btf.ts";
import { type Codec, makeCodec } from "../btf/codec.ts";
import { EV, type RecordDecoder } from "../tracker/bpf-decode.ts";
import { execEvent, exitEvent, forkEvent, type RawTask } from "../tracker/build.ts";
import type { TraceEvent } from "../tracker/events.ts";
import { JsonEventWriter } from "../tracker/json-bytes.ts";
import { TsbpfExecFlags } from "../tracker/process.gen.ts";
import { ProcessTable } from "../tracker/process-table.ts";
import type { DrainWarmUp } from "../tracker/source.ts";

const ARGV = new TextEncoder().encode("/bin/true\0warm\0");
const FILENAME = new TextEncoder().encode("/bin/true");

function task(tgid: number, ppid: number, start: number, ns: boolean): RawTask {
  return {
    time: "2000-01-01T00:00:00.000001Z",
    tgid,
    tid: tgid,
    ppid,
    uid: 0,
    gid: 0,
    comm: "warm",
    startBoottimeNs: start,
    parentStartBoottimeNs: 1e9,
    execId: undefined,
    parentExecId: undefined,
    cgroupId: 1,
    // Like bpf-decode.ts: a process fork's event has no namespace fields.
    pidnsInode: ns ? 4026531836 : undefined,
    nsPid: ns ? tgid : undefined,
  };
}

/** Rounds to run, one per turn of events() (see EventPathWarmUp.round). */
export const WARM_ROUNDS = 24;

/** The warm-up's own table, buffer and writer: nothing of it touches the real ones. */
export class EventPathWarmUp {
  private table: ProcessTable | undefined;
  private out: Buffer | undefined;
  private readonly json = new JsonEventWriter();

  /**
   * Round `i` of the warm-up: a fork, an exec and an exit (by a signal in odd rounds)
   * on the throwaway table, each written as NDJSON into a scratch buffer. A round is
   * short, so the drain loop runs one per turn from its second turn on: the first
   * events are never held up, and all rounds are done within the first 24 turns.
   */
  round(i: number): void {
    this.table ??= new ProcessTable({ graceMs: 0 });
    this.out ??= Buffer.allocUnsafe(4096);
    const table = this.table;
    const out = this.out;
    const parent = 100;
    const child = 1000 + i;
    const start = 2e9 + i * 1e7;
    const evs: TraceEvent[] = [
      forkEvent(task(parent, 1, 1e9, false), {
        childPid: child,
        childTid: child,
        thread: false,
        childStartBoottimeNs: start,
      }),
      execEvent(task(child, parent, start, true), {
        filename: FILENAME,
        argvBytes: ARGV,
        argc: 2,
        argvTruncated: false,
        oldPid: child,
      }),
      exitEvent(task(child, parent, start, true), {
        status: i % 2 === 0 ? 0 : 9,
        lifetimeNs: 1e6,
        thread: false,
      }),
    ];
    for (const ev of evs) {
      table.apply(ev);
      this.json.write(out, 0, out.length - 1, ev);
    }
    // graceMs 0: every exited child goes, through the same path as a real prune.
    table.prune(Date.now() + 1000);
    if (i === WARM_ROUNDS - 1) {
      this.table = undefined;
      this.out = undefined;
    }
  }
}

/** Above PID_MAX_LIMIT (2^22, include/linux/threads.h): never a real pid. */
export const WARM_PID = 0x7f00_0000;

const enc = new TextEncoder();
const WARM_FILE = enc.encode("/w");
const WARM_ARGS = enc.encode("w\0-\0");

/** Codecs of process.bpf.c's record structs (bpf/process.h), from the object's BTF. */
export function recordCodecs(btf: Btf): { fork: Codec; exec: Codec; failed: Codec; exit: Codec } {
  const codec = (name: string) => makeCodec(btf, btf.findByNameKind(name, "struct")[0] as number);
  return {
    fork: codec("tsbpf_fork_event"),
    exec: codec("tsbpf_exec_event"),
    failed: codec("tsbpf_exec_failed_event"),
    exit: codec("tsbpf_exit_event"),
  };
}

/**
 * The decoder's side of the warm-up: records of every kind, laid out by the object's
 * own BTF (btf/codec.ts), through RecordDecoder.decode(); the events are dropped.
 *
 * Why: decode() is optimized within the first few hundred records of a storm, and a
 * record kind or branch it had not met by then (an exec, a thread exit, an unknown
 * parent, a name not in its comm cache) deoptimized it when it came: a recompile on a
 * core the traced workload needs. The records carry pids no process can have, so the
 * decoder's parent lookup finds nothing and nothing else is touched; each round has a
 * process name of its own, so the comm cache's miss path runs too.
 */
export class DecoderWarmUp {
  private codecs: { btf: Btf; codecs: ReturnType<typeof recordCodecs> } | undefined;

  private codecsFor(btf: Btf): ReturnType<typeof recordCodecs> {
    if (this.codecs?.btf !== btf) this.codecs = { btf, codecs: recordCodecs(btf) };
    return this.codecs.codecs;
  }

  /** Round `i`: a fork, a thread, an exec (with env in odd rounds), a failed exec, a process exit (by a signal in odd rounds), a thread exit, a short and an unknown record. */
  round(i: number, decoder: RecordDecoder): void {
    const { fork, exec, failed, exit } = this.codecsFor(decoder.btf);
    const pid = WARM_PID + i;
    const comm = new Uint8Array(16);
    comm[0] = 119; // "w", then a letter per round: a comm-cache miss each round
    comm[1] = 97 + (i % 26);
    const hdr = (type: number, thread = false) => ({
      // Times and ids below 2^53 (the Number path), distinct per round.
      ts_boot_ns: BigInt(1_000_000 * (i + 1)),
      cgroup_id: 1n,
      exec_id: BigInt(10_000_000 * (i + 1)),
      parent_exec_id: 10_000_000n,
      type,
      pid,
      tid: thread ? pid + 1 : pid,
      ppid: WARM_PID,
      pidns_ino: 4026531836,
      ns_pid: i + 2,
      comm,
    });
    const run = (c: Codec, value: object, tail: Uint8Array[] = []) => {
      const bytes = new Uint8Array(c.size + tail.reduce((n, t) => n + t.length, 0));
      c.encode(value, bytes);
      let at = c.size;
      for (const t of tail) {
        bytes.set(t, at);
        at += t.length;
      }
      return decoder.decode(new DataView(bytes.buffer), 0, bytes.length);
    };
    run(fork, { hdr: hdr(EV.FORK), parent_pid: WARM_PID, parent_tid: WARM_PID });
    run(fork, { hdr: hdr(EV.THREAD, true), parent_pid: pid, parent_tid: pid });
    run(
      exec,
      {
        hdr: hdr(EV.EXEC),
        old_pid: pid,
        argc: 2,
        filename_len: WARM_FILE.length,
        args_len: WARM_ARGS.length,
        flags: i % 2 === 1 ? TsbpfExecFlags.TSBPF_EXEC_ENV_CAPTURED : 0,
      },
      [WARM_FILE, WARM_ARGS],
    );
    run(failed, { hdr: hdr(EV.EXEC_FAILED), error: 2, filename_len: WARM_FILE.length }, [WARM_FILE]);
    run(exit, { hdr: hdr(EV.EXIT), status: i % 2 === 0 ? 0 : 9, lifetime_ns: 1000n });
    run(exit, { hdr: hdr(EV.THREAD_EXIT, true), lifetime_ns: 1000n });
    // A short record and one of an unknown type.
    decoder.decode(new DataView(new ArrayBuffer(4)), 0, 4);
    run(exit, { hdr: hdr(99) });
  }
}

/**
 * The tracer session's DrainWarmUp: each round runs a DecoderWarmUp round through the
 * session's decoder and then an EventPathWarmUp round.
 */
export function tracerWarmUp(): DrainWarmUp {
  const records = new DecoderWarmUp();
  const events = new EventPathWarmUp();
  return {
    rounds: WARM_ROUNDS,
    round(i, decoder) {
      records.round(i, decoder);
      events.round(i);
    },
  };
}
