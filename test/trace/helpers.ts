// Running `tsbpf trace` (from source) in tests, and reading what it printed.
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { CLI, runCli } from "../helpers/cli.ts";
import { ROOT_DIR } from "../helpers/env.ts";

export { CLI };

/** Generous: loading the tracer takes ~1 s, more on a busy 2-core machine. */
export const TIMEOUT_MS = 60_000;

export function tsbpf(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {},
): SpawnSyncReturns<string> {
  return runCli(args, { prefix: opts.prefix, timeoutMs: TIMEOUT_MS, env: { NO_COLOR: "1", ...opts.env } });
}

export function show(r: {
  status: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}): string {
  return `status=${r.status} signal=${r.signal ?? ""}\n--- stdout:\n${r.stdout.slice(-4000)}\n--- stderr:\n${r.stderr.slice(-4000)}`;
}

// biome-ignore lint/suspicious/noExplicitAny: events are checked field by field in the tests
export type Ev = Record<string, any>;

export function ndjson(text: string): Ev[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Ev);
}

/** A running `tsbpf trace` whose stdout is collected; `waitFor` polls it. */
export class RunningTrace {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [...CLI, ...args], {
      cwd: ROOT_DIR,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      this.stdout += d;
    });
    this.child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      this.stderr += d;
    });
    this.done = new Promise((resolve) =>
      this.child.on("close", (status, signal) => resolve({ status, signal })),
    );
  }

  /** Polls until pred(stdout) holds, running `tick` between polls (e.g. a workload). */
  async waitFor(pred: (out: string) => boolean, tick?: () => void, ms = TIMEOUT_MS): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.stdout)) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for trace output\n${this.stdout.slice(-2000)}\n${this.stderr}`);
      if (this.child.exitCode !== null)
        throw new Error(`trace exited early (${this.child.exitCode})\n${this.stderr}`);
      tick?.();
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** BPF program ids held open by the trace process (from /proc/PID/fdinfo). */
  progIds(): number[] {
    const pid = this.child.pid as number;
    const ids: number[] = [];
    for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
      try {
        const m = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
        if (m) ids.push(Number(m[1]));
      } catch {
        // fd closed meanwhile
      }
    }
    return ids;
  }

  stop(sig: NodeJS.Signals = "SIGINT") {
    this.child.kill(sig);
    return this.done;
  }
}

/** Ids of every BPF program loaded in the kernel now. */
export function loadedProgIds(): Set<number> {
  const r = spawnSync("bpftool", ["prog", "list", "-j"], { encoding: "utf8" });
  const list = JSON.parse(r.stdout || "[]") as { id: number }[];
  return new Set(list.map((p) => p.id));
}

export function run(cmd: string, args: string[]): void {
  spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
}
