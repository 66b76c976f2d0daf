// Helpers for the oracle tests: build the C workloads with gcc into a temp dir, run
// `tsbpf trace --json` on them, and read both sides (the tracer's NDJSON and the
// workload's ground truth) back as objects.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ForkEvent, TraceEvent } from "../../src/tracker/events.ts";
import { encodeSurrogateEscape } from "../../src/tracker/utf8.ts";
import { ROOT_DIR } from "../helpers/env.ts";

const HERE = join(ROOT_DIR, "test", "workload");

export interface Built {
  dir: string;
  workload: string;
  driver: string;
  cleanup(): void;
}

/** Compiles workload.c and driver.c into a fresh temp dir (also the runs' cwd, so core files land there). */
export function buildWorkloads(): Built {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-oracle-"));
  const workload = join(dir, "workload");
  const driver = join(dir, "driver");
  execFileSync("gcc", ["-O1", "-Wall", "-o", workload, join(HERE, "workload.c"), "-lpthread"], {
    stdio: "pipe",
  });
  execFileSync("gcc", ["-O1", "-Wall", "-o", driver, join(HERE, "driver.c")], { stdio: "pipe" });
  return { dir, workload, driver, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One line of ground truth written by workload.c (fields depend on `step`). */
export interface Truth {
  step: string;
  pid?: number;
  ppid?: number;
  tid?: number;
  status?: number;
  filename?: string;
  /** Byte strings as hex. */
  argv?: string[];
  env?: string[];
  [k: string]: unknown;
}

export function readTruth(path: string): Truth[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Truth);
}

export const hexToBytes = (h: string) => Buffer.from(h, "hex");
/** The exact bytes behind a tracer string (surrogateescape undone), as hex. */
export const stringToHex = (s: string) => Buffer.from(encodeSurrogateEscape(s)).toString("hex");

/** The identity of a record: forks by the child they made, the others by the image that ran. */
export const identity = (e: TraceEvent): string =>
  e.event === "fork"
    ? `fork ${(e as ForkEvent).child_exec_id ?? (e as ForkEvent).child_pid}`
    : `${e.event} ${e.exec_id}`;

export interface TraceRun {
  events: TraceEvent[];
  /** The raw NDJSON lines, index-aligned with events. */
  lines: string[];
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TraceHandle {
  child: ChildProcess;
  events: TraceEvent[];
  lines: string[];
  /** Resolves when `pred` holds for some event (checked as lines arrive), rejects on timeout/exit. */
  waitFor(pred: (e: TraceEvent) => boolean, timeoutMs: number, what: string): Promise<TraceEvent>;
  /** Resolves when the tracer exits (rejects after timeoutMs, killing it). */
  done(timeoutMs: number): Promise<TraceRun>;
}

/** Starts `tsbpf trace <args>` (through bin/tsbpf.js, i.e. the TypeScript sources). */
export function startTrace(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): TraceHandle {
  const child = spawn(process.execPath, [join(ROOT_DIR, "bin", "tsbpf.js"), "trace", ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: TraceEvent[] = [];
  const lines: string[] = [];
  let stderr = "";
  let partial = "";
  const waiters: { pred: (e: TraceEvent) => boolean; resolve: (e: TraceEvent) => void }[] = [];
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr += d;
  });
  child.stdout?.on("data", (d: string) => {
    partial += d;
    let nl = partial.indexOf("\n");
    while (nl !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      nl = partial.indexOf("\n");
      if (line.length === 0) continue;
      let ev: TraceEvent;
      try {
        ev = JSON.parse(line) as TraceEvent;
      } catch {
        throw new Error(`tracer wrote a line that is not JSON: ${JSON.stringify(line.slice(0, 200))}`);
      }
      events.push(ev);
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--)
        if (waiters[i].pred(ev)) {
          waiters[i].resolve(ev);
          waiters.splice(i, 1);
        }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    events,
    lines,
    waitFor(pred, timeoutMs, what) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}; events:\n${lines.join("\n")}\nstderr:\n${stderr}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
        });
        exited.then(() => {
          clearTimeout(t);
          reject(new Error(`tracer exited while waiting for ${what}; stderr:\n${stderr}`));
        });
      });
    },
    async done(timeoutMs) {
      const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const { code, signal } = await exited;
      clearTimeout(t);
      if (signal === "SIGKILL") throw new Error(`tracer killed after ${timeoutMs} ms; stderr:\n${stderr}`);
      return { events, lines, stderr, code, signal };
    },
  };
}

/** Runs `tsbpf trace <args>` to completion (its `-- CMD` ends it). */
export function runTrace(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }) {
  return startTrace(args, opts).done(opts.timeoutMs);
}
