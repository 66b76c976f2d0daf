// A loaded program: its fd plus attach, test run and pin. Owned by a Collection
// (closed with it) or standalone.
import { type AttachOptions, type AttachOptionsFor, attachProgram } from "../link/attach.ts";
import type { Link } from "../link/link.ts";
import type { ProgramSpec } from "../spec.ts";
import { closeFd, objPin, type ProgInfo, progInfo, progTestRun } from "../sys/bpf.ts";
import type { FeatureProbes } from "../sys/features.ts";
import { LoadError } from "./errors.ts";
import type { LinkedProgram } from "./link.ts";
import type { OnStep, VerifierStats } from "./steps.ts";

/** Input of Program.testRun() (BPF_PROG_TEST_RUN). */
export interface TestRunOptions {
  /** Packet data for BPF_PROG_TEST_RUN (data_in); data_out gets the same size plus headroom. */
  data?: Uint8Array;
  /** Context (ctx_in), e.g. the struct a SEC("syscall") program reads. */
  ctx?: Uint8Array;
  repeat?: number;
}

/** Output of Program.testRun(). */
export interface TestRunResult {
  retval: number;
  /** Average run time in ns. */
  duration: number;
  dataOut?: Uint8Array;
}

/**
 * A loaded program. `K` is its attach kind (from its SEC() name), which decides the
 * options attach() takes; `tsbpf gen` writes it for each program of an object.
 */
export class Program<K extends ProgramSpec["attach"] = ProgramSpec["attach"]> {
  readonly fd: number;
  readonly name: string;
  readonly spec: ProgramSpec;
  /** Instructions as loaded (after linking and relocation). */
  readonly linked: LinkedProgram;
  readonly stats: VerifierStats | undefined;
  readonly links = new Set<Link>();
  private closed = false;
  private readonly onStep: OnStep | undefined;
  /** Feature answers of the load that made this program, reused by attach(). */
  private readonly features: FeatureProbes | undefined;

  constructor(
    fd: number,
    linked: LinkedProgram,
    stats: VerifierStats | undefined,
    onStep?: OnStep,
    features?: FeatureProbes,
  ) {
    this.fd = fd;
    this.spec = linked.spec;
    this.name = linked.spec.name;
    this.linked = linked;
    this.stats = stats;
    this.onStep = onStep;
    this.features = features;
  }

  private check(): void {
    if (this.closed) throw new LoadError(`program '${this.name}' is closed`);
  }

  /**
   * Attach by the program's SEC() kind (tracepoint, raw_tp, tp_btf, ...): the returned
   * Link detaches on close(), and is closed with the program.
   */
  attach(opts: AttachOptionsFor<K> = {} as AttachOptionsFor<K>): Link {
    this.check();
    const link = attachProgram(this.fd, this.spec, { features: this.features, ...(opts as AttachOptions) });
    this.links.add(link);
    this.onStep?.({
      step: "attached",
      program: this.name,
      kind: link.kind,
      target: link.target,
      linkFd: link.fd,
    });
    return link;
  }

  /** BPF_PROG_TEST_RUN. Raw tracepoint programs take ctx only and repeat 0. */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    this.check();
    const dataOut = opts.data ? new Uint8Array(new ArrayBuffer(opts.data.byteLength + 256)) : undefined;
    const r = progTestRun({
      prog_fd: this.fd,
      data_in: opts.data,
      data_out: dataOut,
      ctx_in: opts.ctx,
      repeat: opts.repeat,
    });
    return {
      retval: r.retval | 0,
      duration: r.duration,
      dataOut: dataOut ? dataOut.slice(0, r.dataSizeOut) : undefined,
    };
  }

  /** BPF_OBJ_PIN the program at `path` on a bpffs: it then outlives this process until the pin is removed. */
  pin(path: string): void {
    this.check();
    objPin(this.fd, path);
  }

  /** The kernel's view of the program (BPF_OBJ_GET_INFO_BY_FD): id, type, tag, name, ... */
  info(): ProgInfo {
    this.check();
    return progInfo(this.fd);
  }

  /** Detach its links and close the fd. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links) l.close();
    this.links.clear();
    closeFd(this.fd);
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }
}
