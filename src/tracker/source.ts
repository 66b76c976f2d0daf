// The tracer session: loads bpf/process.bpf.o with the user's options in .rodata,
// attaches the programs it needs, and turns the `events` ring buffer into an async
// stream of TraceEvents (plus `lost` events from the kernel's loss counters). Closing
// the session detaches and frees everything: nothing stays in the kernel.

import type { WaiterMode } from "../events/waiter.ts";
import { loadCollectionSpec, type ObjectFiles, packageObjectFiles } from "../loader/spec-file.ts";
import type { ConsumeLoopFactory } from "../ringbuf/consume-loop.ts";
import type { CollectionSpec } from "../spec.ts";
import { bootToRealtimeOffsetNs } from "../sys/clock.ts";
import { numPossibleCpus } from "../sys/cpus.ts";
import { probe } from "../sys/features.ts";
import { BPF_MAP_TYPE } from "../uapi.ts";
import { makeRecordDecoder, type RecordDecoder } from "./bpf-decode.ts";
import { type BpfLoadedTracer, loadTracer, type TracerKernelStats } from "./bpf-load.ts";
import { LossPoller } from "./bpf-loss.ts";
import type { LostEvent, TraceEvent } from "./events.ts";
import { ProcessTable, type ProcessTableOptions } from "./process-table.ts";
import { ProcSeeder } from "./procfs.ts";

/** Options of openSession(): what the kernel side of a trace loads and filters. */
export interface SessionOptions {
  /** Emit thread create/exit events (.rodata trace_threads). */
  threads?: boolean;
  /** Capture the environment of each exec (.rodata capture_env). */
  env?: boolean;
  /** Emit exec_failed events; attaches the 4 syscall tracepoints (.rodata trace_failed_exec). */
  failed?: boolean;
  /** argv bytes per exec, 1..32768 (default 4096). */
  maxArgsBytes?: number;
  /** env bytes per exec, 1..32768 (default 4096). */
  maxEnvBytes?: number;
  /** Only this real uid. */
  uid?: number;
  /** Only this cgroup v2 id. */
  cgroupId?: bigint;
  /** Only tasks whose own pid namespace has this inode. */
  pidns?: number;
  /**
   * Trace only these processes and their descendants (the kernel's `tracked` map).
   * `[]` turns descendant filtering on with nothing tracked yet: add pids with
   * session.track() (how openTrace's `command` is followed from its first event).
   */
  rootPids?: number[];
  /** Token bucket for fork/exec/exec_failed events per second (0 = off). */
  rateLimitPerSec?: number;
  rateBurst?: number;
  rateLimitByParent?: boolean;
  /** Target BTF for CO-RE instead of /sys/kernel/btf/vmlinux. */
  btfPath?: string;
  /** Reuse CO-RE results stored for this kernel (default true; see src/loader/core-cache.ts). */
  coreCache?: boolean;
  /**
   * The tracer object (path or embedded name); default: tracerObject(), i.e.
   * process.bpf.o, or process_perf.bpf.o without ring buffers / with TSBPF_FORCE_PERF=1.
   */
  object?: string;
  /**
   * Bytes of the `events` ring buffer (a power of two, >= the page size; default
   * DEFAULT_RING_SIZE, 2 MiB). With the perf fallback: bytes of each CPU's ring.
   */
  ringSize?: number;
  /**
   * How the reader blocks between drains (src/events/waiter.ts). Default "async": a
   * koffi `.async` epoll_wait on libuv's pool. A session drains at most every
   * COALESCE_MAX_MS while events flow, so it needs a few hundred wakeups a second, not
   * the tens of thousands the worker thread is built for, and the worker's own Node
   * isolate costs ~10 MB of RSS and its boot competes with the start-up for the CPU.
   */
  waiter?: WaiterMode;
  /** How often the loss counters are read (ms, default 1000). */
  lossPollMs?: number;
  /**
   * Seed the process table from /proc after attach: true (default) reads all of /proc
   * before openTrace() returns; "background" (what `tsbpf trace` uses) lists the pids
   * then, and reads them a few per turn of events(), so the first events are not held
   * up: each event's process and its ancestors are read before the event is applied
   * (see ProcSeeder), and the rest is in the table before events() ends. With
   * rootPids the seeding is always done up front (the roots' existing children must
   * enter the kernel filter at once).
   */
  seedProc?: boolean | "background";
  /** Bounds of the process table (exited processes stay graceMs, default 5 s). */
  table?: ProcessTableOptions;
  /** Called at each start-up phase with its name (`tsbpf trace` under TSBPF_TIMING=1). */
  onPhase?: (name: string) => void;
  /** Where `object` is read from (default: the filesystem and the package's bpf/ directory). */
  files?: ObjectFiles;
  /** Builds the ring-buffer reader's record loop (see RingBufReaderOptions.consumeLoop). */
  consumeLoop?: ConsumeLoopFactory;
  /** Extra work for the first turns of the drain loop (see DrainWarmUp); none by default. */
  warmUp?: () => DrainWarmUp;
}

/**
 * Work run on the first turns of a session's drain loop, one round per turn from the
 * second turn on, so the first events are not held up. The single binary uses it to
 * run the per-event code on synthetic events before a storm (src/binary/jit-warm.ts).
 */
export interface DrainWarmUp {
  /** How many rounds to run. */
  readonly rounds: number;
  /** Round `i`; `decoder` is the session's record decoder. */
  round(i: number, decoder: RecordDecoder): void;
}

/** A running trace: its events, and close() to detach everything. */
export interface TraceSession {
  /**
   * Processes seen (seeded from /proc, then updated by every event). With
   * seedProc "background" it fills up while events() runs.
   */
  readonly table: ProcessTable;
  /** Wall-clock ms when the programs were attached. */
  readonly startedAt: number;
  /**
   * The event stream, in kernel order; ends after stop() (once the ring buffer is
   * drained and the final loss counts are reported) or when `signal` aborts.
   * Each event is applied to `table` before it is yielded.
   */
  events(opts?: { signal?: AbortSignal }): AsyncIterable<TraceEvent>;
  /**
   * The same stream as events(), a ring-buffer drain at a time: each array holds the
   * events of one turn, in order, and is only valid until the next iteration (it is
   * reused). This is what `tsbpf trace` reads: an async generator costs a promise and
   * a microtask turn per item, a visible share of the tracer's CPU in a fork storm.
   * Use either this or events(), not both.
   */
  batches(opts?: { signal?: AbortSignal }): AsyncIterable<readonly TraceEvent[]>;
  /** Add a process to the descendant filter (needs rootPids). */
  track(pid: number): void;
  /** True while /proc is still being read in the background (seedProc "background"). */
  readonly seeding: boolean;
  /** Settles when /proc has been read (at once when that was done up front or not asked). */
  readonly seeded: Promise<void>;
  /** Ring-buffer fill and per-program BPF run time, read now (for metrics). */
  kernelStats(): TracerKernelStats;
  /** Detach now, let events() drain what is left in the ring and end. */
  stop(): void;
  /** Detach and free everything (idempotent). */
  close(): void;
  /** Same as close(). */
  [Symbol.dispose](): void;
}

// Always the shipped objects: never a process.bpf.o that happens to be in the cwd.
export const RINGBUF_OBJECT = "embedded:process.bpf.o";
/** The same programs writing to a per-CPU perf event array (bpf/process_perf.bpf.c). */
export const PERF_OBJECT = "embedded:process_perf.bpf.o";

/**
 * The tracer object for this kernel: the ring-buffer one when BPF_MAP_TYPE_RINGBUF
 * exists (Linux 5.8+), else the perf-event-array one. TSBPF_FORCE_PERF=1 forces the
 * fallback (to test it on a kernel that has ring buffers).
 */
export function tracerObject(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBPF_FORCE_PERF === "1") return PERF_OBJECT;
  return probe("ringbuf") ? RINGBUF_OBJECT : PERF_OBJECT;
}

/**
 * A perf sample's size is a u16 (struct perf_event_header.size, 8-aligned: at most
 * 65528), holding the header (8), the raw size (4) and the record. An exec record
 * is its fixed part, two filenames of up to TSBPF_FILENAME_MAX, argv and env; with
 * the perf output the argv + env budget is cut to fit, env first (the cut is
 * flagged like any other truncation).
 */
const PERF_RECORD_MAX = 65528 - 12;
const EXEC_FIXED_MAX = 256 + 2 * 4096;

function fitPerfSample(rodata: Record<string, number | bigint | boolean>): void {
  const budget = PERF_RECORD_MAX - EXEC_FIXED_MAX;
  const args = Math.min(Number(rodata.max_args_bytes), budget);
  rodata.max_args_bytes = args;
  rodata.max_env_bytes = Math.max(1, Math.min(Number(rodata.max_env_bytes), budget - args));
}

/** Kernel-side options (.rodata of process.bpf.c; names as in docs/events-wire.md). */
export function rodataFor(o: SessionOptions): Record<string, number | bigint | boolean> {
  return {
    trace_threads: o.threads ?? false,
    capture_env: o.env ?? false,
    trace_failed_exec: o.failed ?? false,
    max_args_bytes: o.maxArgsBytes ?? 4096,
    max_env_bytes: o.maxEnvBytes ?? 4096,
    targ_uid: o.uid ?? 0xffffffff,
    targ_cgroup_id: o.cgroupId ?? 0n,
    targ_pidns: o.pidns ?? 0,
    filter_descendants: o.rootPids !== undefined,
    rate_limit_per_sec: o.rateLimitPerSec ?? 0,
    rate_burst: o.rateBurst ?? 0,
    rate_limit_by_parent: o.rateLimitByParent ?? false,
  };
}

/** The programs to load: the syscall pair only for failed execs (they cost a hook on every execve). */
export function programsFor(spec: CollectionSpec, o: SessionOptions): CollectionSpec {
  const wanted = (name: string) => o.failed === true || !/^handle_(enter|exit)_execve/.test(name);
  return { ...spec, programs: spec.programs.filter((p) => wanted(p.name)) };
}

/**
 * The kernel side of a trace and its raw event stream: loads and attaches the programs
 * and decodes the ring. openTrace() (trace.ts) adds what `tsbpf trace` does on top:
 * a command run from its first instruction, cgroup/container names, rules, filters.
 */
export async function openSession(opts: SessionOptions = {}): Promise<TraceSession> {
  const phase = opts.onPhase;
  const objName = opts.object ?? tracerObject();
  phase?.(`object chosen: ${objName}${opts.object === undefined ? " (ring buffer support probed)" : ""}`);
  // The single binary carries its embedded objects already parsed (src/binary/assets.ts).
  const files = opts.files ?? packageObjectFiles;
  const pre = files.takeSpec?.(objName);
  const parsed = pre ?? loadCollectionSpec(objName, files);
  const spec = programsFor(parsed, opts);
  phase?.(pre ? "ELF parsed (pre-parsed in the binary)" : "ELF parsed");
  const table = new ProcessTable(opts.table);
  let seeder: ProcSeeder | undefined;
  const decoder = makeRecordDecoder(requireBtf(spec), {
    bootToRealtimeNs: bootToRealtimeOffsetNs(),
    parentOf: (pid) => {
      // A fork's parent: its ppid and exec_id come from the table (seeded if pending).
      seeder?.ensure(pid);
      return table.get(pid);
    },
  });
  phase?.("record decoder built");

  const rodata = rodataFor(opts);
  if (spec.maps.some((m) => m.name === "events" && m.type === BPF_MAP_TYPE.PERF_EVENT_ARRAY))
    fitPerfSample(rodata);
  const tracer = await loadTracer(spec, {
    rodata,
    scratchEntries: numPossibleCpus(),
    btfPath: opts.btfPath,
    ringSize: opts.ringSize,
    // TSBPF_WAITER=worker|async (read by waiter.ts) still chooses, for A/B runs.
    waiter: opts.waiter ?? (process.env.TSBPF_WAITER ? undefined : "async"),
    coreCache: opts.coreCache,
    onPhase: phase,
    consumeLoop: opts.consumeLoop,
  });
  phase?.("loaded");
  try {
    // Seed the descendant filter BEFORE attaching, so the root cannot fork unseen.
    for (const pid of opts.rootPids ?? []) tracer.track(pid);
    tracer.attach();
    const startedAt = Date.now();
    phase?.("attached");
    if (opts.seedProc !== false) {
      seeder = new ProcSeeder(table);
      if (opts.seedProc !== "background" || opts.rootPids !== undefined) {
        seeder.finish();
        seeder = undefined;
        // Children the roots already had before we attached are theirs too.
        for (const pid of opts.rootPids ?? []) for (const d of table.descendantsOf(pid)) tracer.track(d.pid);
        phase?.(`process table seeded from /proc (${table.size} processes)`);
      } else phase?.("processes listed from /proc");
    }
    return new Session(
      tracer,
      decoder,
      table,
      startedAt,
      opts.lossPollMs ?? 1000,
      seeder,
      phase,
      opts.warmUp,
    );
  } catch (e) {
    tracer.close();
    throw e;
  }
}

function requireBtf(spec: CollectionSpec) {
  if (!spec.btf) throw new Error(`${spec.path}: the tracer object has no BTF`);
  return spec.btf;
}

/**
 * Processes read from /proc per turn of events() while seeding in the background:
 * each costs 4 small reads and a readlink, so a turn stays a few ms.
 */
const SEED_CHUNK = 16;

/**
 * With the "worker" waiter the reader's first wait starts its epoll worker thread
 * (src/sys/epoll-worker.ts), whose isolate takes a while to boot (longer on a loaded
 * machine); until it runs, no readiness is reported. So for STARTUP_POLL_FOR_MS after the first wait, each
 * wait is cut to STARTUP_POLL_MS and the ring is drained on that timer too: events
 * at start-up are not held up by the boot. (Booting the worker ahead of time, while
 * the programs load, competes with the load for the CPU.)
 */
const STARTUP_POLL_MS = 2;
const STARTUP_POLL_FOR_MS = 100;

/** Wait after detach before the final drain and loss poll (see batches()). */
const STOP_GRACE_MS = 20;

/**
 * How long the loss counters are polled on every turn at start (see batches()): a
 * few syscalls per turn, for 0.3 s.
 */
const WARM_MS = 300;

/** Records handed out per event-loop turn, so a storm cannot starve timers and signals. */
const TURN_LIMIT = 4096;

/**
 * Pause after a drain that found records, before draining again. The kernel wakes a
 * waiting reader each time it submits into an empty ring (bpf_ringbuf_commit), so a
 * reader that re-arms after every drain takes one wakeup (worker futex, promise,
 * timer) per fork in a storm, and the wait path became the biggest user-side cost. So while events keep coming the reader sleeps between drains
 * and lets them batch up: 1 ms after the first drain, doubling while each drain finds
 * records, up to COALESCE_MAX_MS; back to 1 ms once a drain finds nothing. An event
 * that arrives after an idle period is still read at once (the pause only follows a
 * drain that found something), and a storm is read in batches of ~16 ms: each drain
 * has a fixed cost (timer, promise, generator resume, loss-poll check), so longer
 * pauses cut the tracer's CPU per event (bench/README.md). The ring holds far more than 16 ms of any storm: 8 MiB, while
 * 16 ms of 100,000 fork/exit records/s is ~300 KiB.
 */
const COALESCE_MIN_MS = 1;
const COALESCE_MAX_MS = 16;

class Session implements TraceSession {
  private stopping = false;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly loss: LossPoller;
  /** Until when waits are cut to STARTUP_POLL_MS (set by the first wait). */
  private pollUntil: number | undefined;
  readonly seeded: Promise<void>;
  private markSeeded: () => void = () => {};

  constructor(
    private readonly tracer: BpfLoadedTracer,
    private readonly decoder: RecordDecoder,
    readonly table: ProcessTable,
    readonly startedAt: number,
    private readonly lossPollMs: number,
    /** Background /proc seeding still to do (seedProc "background"). */
    private seeder: ProcSeeder | undefined,
    private readonly onPhase: ((name: string) => void) | undefined,
    private readonly warmUp: (() => DrainWarmUp) | undefined,
  ) {
    this.seeded = new Promise((resolve) => {
      this.markSeeded = resolve;
    });
    if (seeder === undefined) this.markSeeded();
    const reader = tracer.reader;
    this.loss = new LossPoller(
      tracer.lostMap,
      tracer.rateLimitedMap,
      tracer.output === "perf" ? () => reader.lost() : undefined,
    );
  }

  track(pid: number): void {
    this.tracer.track(pid);
  }

  get seeding(): boolean {
    return this.seeder !== undefined;
  }

  kernelStats(): TracerKernelStats {
    return this.closed ? { programs: [] } : this.tracer.stats();
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    // Detach first: after this no new record can be written, so draining the ring
    // once more sees everything (the kernel submits before the exit is notified).
    this.tracer.detach();
    this.wake?.();
  }

  async *events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<TraceEvent> {
    for await (const batch of this.batches(opts))
      for (let i = 0; i < batch.length; i++) yield batch[i] as TraceEvent;
  }

  async *batches(opts: { signal?: AbortSignal } = {}): AsyncGenerator<readonly TraceEvent[]> {
    const signal = opts.signal;
    const onAbort = () => this.stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    // Reused for every batch (see TraceSession.batches): the consumer is done with it
    // when it asks for the next one.
    const queue: TraceEvent[] = [];
    // Applied to the table as decoded, so the next record of the same batch (a fork
    // right after its parent's exec) already sees its parent. While /proc is still
    // being read, the event's process and its parent are read first (the fork's
    // parent already was, by the decoder's parentOf).
    // Fields read once here, not in the loop or the push closure: a property first
    // reached in the optimized loop (the loss poll's, a second in) had no type feedback
    // and deoptimized it.
    const decoder = this.decoder;
    const table = this.table;
    const lossPollMs = this.lossPollMs;
    const push = (v: DataView, off: number, len: number) => {
      const ev = decoder.decode(v, off, len);
      if (ev) {
        if (this.seeder) {
          this.seeder.ensure(ev.pid);
          this.seeder.ensure(ev.ppid);
        }
        table.apply(ev);
        if (ev.event === "exit") table.describeExit(ev);
        queue.push(ev);
      }
    };
    // The loss poll (and prune) also runs on every turn for the first WARM_MS, not
    // first a second in: V8 records type feedback only once a function has run a
    // while, so a path taken once at start and next a second later reached the
    // optimized drain loop with no feedback, and deoptimized it mid-storm.
    let nextLoss = Date.now();
    const warmUntil = nextLoss + WARM_MS;
    let turns = 0;
    let warmed = 0;
    const warmUp = this.warmUp?.();
    const warmRounds = warmUp?.rounds ?? 0;
    const reader = this.tracer.reader;
    let settled = false;
    let pause = COALESCE_MIN_MS;
    try {
      for (;;) {
        if (this.closed) return;
        const n = reader.consume(push, TURN_LIMIT);
        if (queue.length > 0) {
          yield queue;
          queue.length = 0;
        }
        // The warm-up hook (DrainWarmUp), one round per turn from the second turn on.
        if (warmed < warmRounds && turns++ > 0) warmUp?.round(warmed++, decoder);
        if (this.seeder !== undefined && this.seedTurn()) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const now = Date.now();
        if (now >= nextLoss || now < warmUntil) {
          nextLoss = now + lossPollMs;
          // A plain array rather than yield* of a generator: the delegation is more
          // code for TurboFan to compile into this function, for a once-a-second path.
          const lost = this.lossNow();
          if (lost.length > 0) yield lost;
          table.prune(now);
        }
        if (n > 0) {
          // More may be waiting: give timers and I/O a turn, then continue; after a
          // partial drain, let the next records batch up first (COALESCE_MIN_MS).
          if (n >= TURN_LIMIT) await new Promise((r) => setImmediate(r));
          else if (!this.stopping) {
            await new Promise((r) => setTimeout(r, pause));
            if (pause < COALESCE_MAX_MS) pause *= 2;
          }
          continue;
        }
        pause = COALESCE_MIN_MS;
        if (this.stopping) {
          if (settled) break;
          // A program that started before detach may still be running: the kernel
          // unhooks it at once but lets running invocations finish (bpf_link_free
          // defers the dealloc past an RCU grace period). Give those a moment, drain
          // once more, and only then read the loss counters for the last time.
          settled = true;
          await new Promise((r) => setTimeout(r, STOP_GRACE_MS));
          continue;
        }
        await this.waitData(Math.max(1, nextLoss - now));
      }
      // After the last drain: every drop the kernel counted is in the stream.
      const last = this.lossNow();
      if (last.length > 0) yield last;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * One turn of background /proc seeding (a chunk; all that is left once stopping).
   * Returns true while some is left. Kept out of batches() so its optimized code stays
   * the drain loop (a smaller, cheaper compile).
   */
  private seedTurn(): boolean {
    const seeder = this.seeder;
    if (seeder === undefined) return false;
    if (this.stopping) seeder.finish();
    else seeder.step(SEED_CHUNK);
    if (!seeder.done) return true;
    this.seeder = undefined;
    this.onPhase?.(`process table seeded from /proc (${this.table.size} processes)`);
    this.markSeeded();
    return false;
  }

  private lossNow(): LostEvent[] {
    return this.closed ? [] : this.loss.poll();
  }

  private waitData(ms: number): Promise<void> {
    // The first waits are cut short (see STARTUP_POLL_MS).
    const now = Date.now();
    this.pollUntil ??= now + STARTUP_POLL_FOR_MS;
    const slice = now < this.pollUntil ? STARTUP_POLL_MS : 250;
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.wake = undefined;
        resolve();
      };
      this.wake = finish;
      this.tracer.reader.wait(Math.min(ms, slice)).then(finish, finish);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopping = true;
    this.wake?.();
    this.tracer.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
