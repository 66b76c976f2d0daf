// tsbpf command-line entry. Each sub-command lives in src/cli/<name>.ts and is
// imported lazily so that `tsbpf --version` loads nothing else.
import type { Command } from "./cli/command.ts";
import { TsbpfError, UsageError } from "./errors.ts";
import { phase } from "./timing.ts";
import { VERSION } from "./version.ts";

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  trace: {
    summary: "trace process fork, exec and exit events",
    load: async () => (await import("./cli/trace.ts")).default,
  },
  tree: { summary: "print the live process tree", load: async () => (await import("./cli/tree.ts")).default },
  inspect: {
    summary: "describe a BPF object or a BTF file",
    load: async () => (await import("./cli/inspect.ts")).default,
  },
  explain: {
    summary: "show every step of loading a BPF object",
    load: async () => (await import("./cli/explain.ts")).default,
  },
  load: {
    summary: "load (and attach) every program of a BPF object",
    load: async () => (await import("./cli/load.ts")).default,
  },
  gen: {
    summary: "generate typed TypeScript bindings for a BPF object",
    load: async () => (await import("./cli/gen.ts")).default,
  },
  report: {
    summary: "draw a recorded trace as an HTML timeline or Perfetto JSON",
    load: async () => (await import("./cli/report.ts")).default,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`);
  return [
    "Usage: tsbpf <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     show help (also: tsbpf <command> --help)",
    "  -V, --version  print the version",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  phase("cli: main()");
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "-V" || name === "--version") {
    console.log(`tsbpf ${VERSION}`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) throw new UsageError(`unknown command '${name}' (see 'tsbpf --help')`);
  const cmd = await entry.load();
  if (rest.includes("-h") || rest.includes("--help")) {
    const dd = rest.indexOf("--");
    const helpAt = Math.max(rest.indexOf("-h"), rest.indexOf("--help"));
    if (dd === -1 || helpAt < dd) {
      console.log(cmd.help);
      return 0;
    }
  }
  return cmd.run(rest);
}

/** Prints an error the way users should see it: one line, no stack (unless TSBPF_DEBUG=1). */
export function reportError(e: unknown): number {
  const debug = process.env.TSBPF_DEBUG === "1";
  if (e instanceof TsbpfError) {
    process.stderr.write(`tsbpf: ${e.message}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`tsbpf: internal error: ${msg}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write("tsbpf: (set TSBPF_DEBUG=1 for a stack trace, and please report it)\n");
  return 1;
}

/** Runs the CLI and sets process.exitCode from its result or error. */
export function run(argv: string[]): Promise<void> {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.exitCode = reportError(e);
    },
  );
}

/**
 * Evaluates every sub-command's modules now (the single binary's start-up snapshot is
 * built with them evaluated, scripts/build-sea.mjs); nothing else runs.
 */
export async function preloadCommands(): Promise<void> {
  for (const c of Object.values(COMMANDS)) await c.load();
}

const isEntry =
  process.argv[1] !== undefined && /(^|[\\/])(cli\.(ts|js|mjs|cjs)|tsbpf(\.js)?)$/.test(process.argv[1]);
if (isEntry || (globalThis as { __TSBPF_SEA__?: boolean }).__TSBPF_SEA__) void run(process.argv.slice(2));
