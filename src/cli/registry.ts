// The sub-commands, each imported lazily so that `tsbpf --version` loads nothing else.
import type { Command } from "./command.ts";

export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  trace: {
    summary: "trace process fork, exec and exit events",
    load: async () => (await import("./trace.ts")).default,
  },
  tree: { summary: "print the live process tree", load: async () => (await import("./tree.ts")).default },
  inspect: {
    summary: "describe a BPF object or a BTF file",
    load: async () => (await import("./inspect.ts")).default,
  },
  explain: {
    summary: "show every step of loading a BPF object",
    load: async () => (await import("./explain.ts")).default,
  },
  load: {
    summary: "load (and attach) every program of a BPF object",
    load: async () => (await import("./load.ts")).default,
  },
  gen: {
    summary: "generate typed TypeScript bindings for a BPF object",
    load: async () => (await import("./gen.ts")).default,
  },
  report: {
    summary: "draw a recorded trace as an HTML timeline or Perfetto JSON",
    load: async () => (await import("./report.ts")).default,
  },
  replay: {
    summary: "rebuild the summary, tree and alerts of a recorded trace (NDJSON)",
    load: async () => (await import("./replay.ts")).default,
  },
  fleet: {
    summary: "the merged view of many tracers' events from NATS JetStream",
    load: async () => (await import("./fleet.ts")).default,
  },
  completion: {
    summary: "print the bash or zsh completion script, or the man page",
    load: async () => (await import("./completion.ts")).default,
  },
};

/** Every command, loaded (the man page and completions are generated from them). */
export async function allCommands(): Promise<Command[]> {
  const out: Command[] = [];
  for (const c of Object.values(COMMANDS)) out.push(await c.load());
  return out;
}
