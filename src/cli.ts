// tsbpf command-line entry. Each sub-command lives in src/cli/<name>.ts and is
// imported lazily so that `tsbpf --version` loads nothing else. This is the one module
// that imports the single-binary layer (src/binary): it hands binaryHost() to every
// sub-command (see src/cli/host.ts).
import { COMMANDS } from "./cli/registry.ts";
import { closest } from "./cli/suggest.ts";
import { TsbpfError, UsageError } from "./errors.ts";
import { firstPhase } from "./timing.ts";
import { VERSION } from "./version.ts";

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`);
  return [
    "Usage: tsbpf <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     show help (also: tsbpf help <command>, tsbpf <command> --help)",
    "  -V, --version  print the version",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  firstPhase("cli: main()");
  const [name, ...rest] = argv;
  if (name === "help" && rest[0] !== undefined) return main([rest[0], "--help"]);
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "-V" || name === "--version") {
    console.log(`tsbpf ${VERSION}`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const guess = closest(name, Object.keys(COMMANDS));
    throw new UsageError(
      `unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ""} (see 'tsbpf --help')`,
    );
  }
  const cmd = await entry.load();
  const { binaryHost } = await import("./binary/host.ts");
  if (rest.includes("-h") || rest.includes("--help")) {
    const dd = rest.indexOf("--");
    const helpAt = Math.max(rest.indexOf("-h"), rest.indexOf("--help"));
    if (dd === -1 || helpAt < dd) {
      console.log(cmd.help);
      return 0;
    }
  }
  return cmd.run(rest, binaryHost());
}

/**
 * True for a write into a pipe whose reader went away (`tsbpf explain x | head -1`):
 * the output is no longer wanted, which is not an error (Node ignores SIGPIPE, so the
 * write fails with EPIPE instead of ending the process as it would a C program).
 */
function isEpipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === "EPIPE";
}

/** Prints an error the way users should see it: one line, no stack (unless TSBPF_DEBUG=1). */
export function reportError(e: unknown): number {
  if (isEpipe(e) || isEpipe((e as { cause?: unknown } | undefined)?.cause)) return 0;
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
  // An asynchronous write (console.log to a pipe) reports EPIPE as an 'error' event on
  // the stream: the reader left, so leave quietly and at once.
  for (const s of [process.stdout, process.stderr])
    s.on("error", (e) => {
      if (isEpipe(e)) process.exit(process.exitCode ?? 0);
      throw e;
    });
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
  await import("./binary/host.ts");
}

const isEntry =
  process.argv[1] !== undefined && /(^|[\\/])(cli\.(ts|js|mjs|cjs)|tsbpf(\.js)?)$/.test(process.argv[1]);
if (isEntry || (globalThis as { __TSBPF_SEA__?: boolean }).__TSBPF_SEA__) void run(process.argv.slice(2));
