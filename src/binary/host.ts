// The single-binary layer as the CLI sees it: src/cli.ts passes binaryHost() to every
// sub-command. Nothing in the library imports this folder; it plugs in through the
// CliHost fields, which map onto explicit library options.
import type { CliHost } from "../cli/host.ts";
import { embeddedObjectFiles, isSea } from "./assets.ts";
import { compileConsumeLoop } from "./consume-loop.ts";
import { dropExecutablePages, STARTUP_OVER_MS } from "./file-pages.ts";
import { useTracerHeapPolicy } from "./heap-policy.ts";
import { useTracerJitPolicy } from "./jit-policy.ts";
import { tracerWarmUp } from "./jit-warm.ts";

/**
 * Embedded objects, the tracer's V8 settings (compiler and heap), its per-reader record loop and warm-up, and
 * the binary's file pages given back around the tracer's start (file-pages.ts).
 */
export function binaryHost(): CliHost {
  const sea = isSea();
  return {
    files: embeddedObjectFiles,
    beforeTrace: () => {
      // The start-up snapshot is deserialised and Node's bootstrap has run: their pages
      // go before the load adds its own, which keeps them out of the peak RSS.
      if (sea) dropExecutablePages();
      useTracerJitPolicy();
      useTracerHeapPolicy();
    },
    traceOpened: () => {
      // Then what the load alone used (the loader, CO-RE, the /proc seeding).
      if (sea) setTimeout(dropExecutablePages, STARTUP_OVER_MS).unref();
    },
    consumeLoop: compileConsumeLoop,
    warmUp: tracerWarmUp,
  };
}
