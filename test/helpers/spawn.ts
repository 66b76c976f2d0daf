// Long-running children in tests: start one, collect its output, and wait until its
// stdout shows it is ready (or it exits, or a generous timeout passes).
import { type ChildProcess, spawn } from "node:child_process";
import { ROOT_DIR } from "./env.ts";

export interface ReadyChild {
  child: ChildProcess;
  /** False when the child exited or timed out before `ready` held. */
  ready: boolean;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code once the child has exited (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Spawns `argv` in the repo root and waits until `ready(stdoutSoFar)` is true. */
export async function spawnUntilReady(
  argv: string[],
  ready: (stdout: string) => boolean,
  timeoutMs = 120_000,
): Promise<ReadyChild> {
  const child = spawn(argv[0] as string, argv.slice(1), { cwd: ROOT_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const ok = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.stdout?.on("data", (d) => {
      out += d;
      if (ready(out)) {
        clearTimeout(t);
        resolve(true);
      }
    });
    child.on("exit", () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  return { child, ready: ok, stdout: () => out, stderr: () => err, exited };
}
