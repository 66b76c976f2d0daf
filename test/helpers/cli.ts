// Running the tsbpf CLI from tests (`node --import tsx src/cli.ts ...` in the repo root)
// and checking its user-facing errors: one `tsbpf: ...` line, the right exit status,
// no stack trace and no "internal error".
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { ROOT_DIR } from "./env.ts";

/** node arguments that run the CLI from source. */
export const CLI = ["--import", "tsx", join(ROOT_DIR, "src/cli.ts")];

/** Drops to nobody with no capabilities (util-linux setpriv); put before a command. */
export const AS_NOBODY = [
  "setpriv",
  "--reuid=nobody",
  "--regid=nogroup",
  "--clear-groups",
  "--inh-caps=-all",
];

export interface RunOptions {
  /** Extra environment (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** A command to run the CLI under, e.g. AS_NOBODY. */
  prefix?: string[];
  /** Generous by default: tsx start-up plus a load takes seconds on a busy 2-core box. */
  timeoutMs?: number;
  maxBuffer?: number;
}

/** Runs `tsbpf ARGS` to completion in the repo root. */
export function runCli(args: string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
  const argv = [...(opts.prefix ?? []), process.execPath, ...CLI, ...args];
  return spawnSync(argv[0] as string, argv.slice(1), {
    cwd: ROOT_DIR,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
  });
}

/** A run that failed the way users should see it: exit `status`, one line matching `want`. */
export function assertOneLineError(
  r: SpawnSyncReturns<string>,
  status: number,
  want: RegExp,
  label: string,
): void {
  const ctx = `${label}\n--- stderr:\n${r.stderr}`;
  assert.is(r.signal, null, `${label}: killed by ${r.signal} (a hang?)`);
  assert.is(r.status, status, `${ctx}\nexit status`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.is(lines.length, 1, `${ctx}\none line of stderr`);
  assert.match(lines[0] as string, /^tsbpf: /, `${ctx}\nstarts with 'tsbpf: '`);
  assert.match(lines[0] as string, want, `${ctx}\nmessage`);
  assert.not.match(r.stderr, /\n\s+at |internal error/, `${ctx}\nno stack trace, no internal error`);
}
