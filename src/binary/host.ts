// The single-binary layer as the CLI sees it: src/cli.ts passes binaryHost() to every
// sub-command. Nothing in the library imports this folder; it plugs in through the
// CliHost fields, which map onto explicit library options.
import type { CliHost } from "../cli/host.ts";
import { embeddedObjectFiles } from "./assets.ts";
import { compileConsumeLoop } from "./consume-loop.ts";
import { useTracerJitPolicy } from "./jit-policy.ts";
import { tracerWarmUp } from "./jit-warm.ts";

/** Embedded objects, the tracer's V8 setting, its per-reader record loop and warm-up. */
export function binaryHost(): CliHost {
  return {
    files: embeddedObjectFiles,
    beforeTrace: () => {
      useTracerJitPolicy();
    },
    consumeLoop: compileConsumeLoop,
    warmUp: tracerWarmUp,
  };
}
