// What the CLI entry (src/cli.ts) hands each sub-command: where BPF objects named on
// the command line come from, and the tracer's run-time specialisations. src/cli.ts
// builds it from the single-binary layer (src/binary/host.ts); plainHost is the
// library's defaults, for a sub-command run without the entry.
import { type ObjectFiles, packageObjectFiles } from "../loader/spec-file.ts";
import type { ConsumeLoopFactory } from "../ringbuf/consume-loop.ts";
import type { DrainWarmUp } from "../tracker/source.ts";

export interface CliHost {
  /** Reads BPF objects named on the command line (paths, bare names, `embedded:NAME`). */
  readonly files: ObjectFiles;
  /** Called once before `tsbpf trace` opens its session. */
  readonly beforeTrace?: () => void;
  /** Called once `tsbpf trace` has opened its session (programs loaded and attached). */
  readonly traceOpened?: () => void;
  /** The tracer's ring-buffer record loop (SessionOptions.consumeLoop). */
  readonly consumeLoop?: ConsumeLoopFactory;
  /** The tracer's drain-loop warm-up (SessionOptions.warmUp). */
  readonly warmUp?: () => DrainWarmUp;
}

/** The library's defaults: objects from the filesystem and the package's bpf/ directory. */
export const plainHost: CliHost = { files: packageObjectFiles };
