// One tracer session: launch the tracer's processes, time how long until they
// report the marker generator's execs (start-up), run workloads one after another
// under it, and attribute to each workload its tracer CPU time and the events the
// tracer reported about it (matched by the workload's pid as parent).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { type Generator, OUT_DIR, runWorkload, type Workload, type WorkloadResult } from "./build.ts";
import { processTree, sampleTree, type TreeSample } from "./procstat.ts";
import type { Kind, Tracer, TracerProc } from "./tracers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

export interface WorkloadUnderTracer {
  workload: Workload;
  result: WorkloadResult;
  /** Tracer CPU seconds from the workload's start until the tracer's output settled. */
  cpuS: number;
  reported: Record<Kind, number>;
  /** exec events' captured argv bytes */
  argvBytes: number[];
}

export interface SessionResult {
  tracer: Tracer;
  /** Set when the tracer failed to start: what it printed. */
  error?: string;
  startupMs?: number;
  runs: WorkloadUnderTracer[];
  /** Peak RSS (VmHWM) summed over the tracer's processes, kB, taken before stopping. */
  hwmKb?: number;
  /** RSS while tracing (after the workloads), kB. */
  rssKb?: number;
  /** PSS, USS and anonymous RSS after the workloads, kB (procstat.ts). */
  pssKb?: number;
  ussKb?: number;
  anonKb?: number;
  /** RSS when the tracer reported its first event (the marker), kB. */
  startRssKb?: number;
  /** RSS after SessionOptions.idleAfterMs more with nothing to trace, before the first workload, kB. */
  idleRssKb?: number;
  lost: number;
}

interface Live {
  child: ChildProcess;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

/**
 * The variables every launched program (tracers, peers, the marker generator) gets
 * from the harness's own environment; everything else is dropped. A user's shell
 * passes little more, while the harness may run under a development environment: this
 * sandbox exports NODE_EXTRA_CA_CERTS, which makes every Node process (dist/tsbpf
 * included) parse ~150 CA certificates before running any code (~40 ms here), and
 * NODE_OPTIONS would change how dist/tsbpf's Node runs. Each tracer adds what it
 * needs on top (TracerProc.env: XDG_CACHE_HOME, TSBPF_NO_CACHE, ...), and a variant
 * can ask for the whole inherited environment instead (TracerProc.inheritEnv).
 */
export const CLEAN_ENV_KEYS = ["PATH", "HOME", "TERM", "LANG"] as const;

export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of CLEAN_ENV_KEYS) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** One line for the results: which environment the tracers ran with. */
export function describeEnv(): string {
  const e = cleanEnv();
  // PATH as the harness has it (it finds the peers' programs), too long to print.
  return CLEAN_ENV_KEYS.map((k) =>
    k === "PATH" ? "PATH (the harness's)" : k in e ? `${k}=${e[k]}` : `${k} unset`,
  ).join(", ");
}

function launch(
  cmd: string,
  args: string[],
  stdoutFd: number | "ignore",
  stderrFd: number | "ignore",
  env?: Record<string, string>,
  inheritEnv = false,
): Live {
  const base = inheritEnv ? (process.env as Record<string, string>) : cleanEnv();
  const child = spawn(cmd, args, { stdio: ["ignore", stdoutFd, stderrFd], env: { ...base, ...env } });
  const live: Live = {
    child,
    exited: new Promise((resolve) => {
      child.on("exit", (code, sig) => {
        live.exitCode = code ?? (sig ? -1 : null);
        resolve(live.exitCode);
      });
      child.on("error", () => {
        live.exitCode = -1;
        resolve(-1);
      });
    }),
  };
  return live;
}

async function stop(l: Live, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  if (l.exitCode !== undefined) return;
  l.child.kill(sig);
  const t = await Promise.race([l.exited.then(() => "exited"), sleep(graceMs).then(() => "timeout")]);
  if (t === "timeout") {
    l.child.kill("SIGKILL");
    await l.exited;
  }
}

/**
 * The telling lines of failed tracers' stderr: no duplicates across processes,
 * the first error lines (the cause) and the last one (the final complaint).
 */
function tellingLines(files: string[]): string {
  const all: string[] = [];
  for (const f of files) {
    try {
      all.push(...readFileSync(f, "utf8").split("\n"));
    } catch {}
  }
  const lines = [...new Set(all.map((l) => l.trim()))].filter(
    (l) => l && !/^(File |\^|Traceback|~|raise )/.test(l),
  );
  // Causes ("Unable to find kernel headers", "cannot ...") before symptoms.
  const cause = (l: string) => (/unable|cannot|denied|missing|headers/i.test(l) ? 0 : 1);
  const telling = lines
    .filter((l) => /error|unable|exception|fail|cannot|no such|not found|denied/i.test(l))
    .sort((a, b) => cause(a) - cause(b));
  const pick = telling.length ? telling : lines;
  return [...new Set([...pick.slice(0, 3), ...pick.slice(-1)])].join(" / ");
}

export interface SessionOptions {
  bins: Record<Generator, string>;
  workloads: Workload[];
  /** unique per session, so markers of different sessions never match */
  tag: string;
  /** marker interval, ms */
  markerMs?: number;
  startTimeoutMs?: number;
  /**
   * How long the tracer sits idle after its first event before idleRssKb is sampled
   * (default 0: at once). A tracer's start-up leaves pages mapped it may give back
   * once started (tsbpf drops the binary's start-up pages 1 s after it opened).
   */
  idleAfterMs?: number;
  /** called after each workload with the tracer's CPU/RSS (the soak samples RSS) */
  between?: (index: number, sample: TreeSample) => void;
}

/** Follows the tracer's output files line by line from where the last read stopped. */
class Followers {
  private offsets: number[];
  private carry: string[];
  private buf = Buffer.alloc(1 << 20);
  /** onLines sees every line exactly once, as it is consumed. */
  constructor(
    private files: string[],
    private onLines: (i: number, lines: string[]) => void,
  ) {
    this.offsets = files.map(() => 0);
    this.carry = files.map(() => "");
  }
  /** Consumes the rest of file i, including a last line without a newline. */
  drain(i: number): void {
    this.lines(i);
    if (this.carry[i]) this.onLines(i, [this.carry[i] as string]);
    this.carry[i] = "";
  }
  /** New complete lines of file i. */
  lines(i: number): string[] {
    let fd: number;
    try {
      fd = openSync(this.files[i] as string, "r");
    } catch {
      return [];
    }
    let text = this.carry[i] as string;
    for (;;) {
      const n = readSync(fd, this.buf, 0, this.buf.length, this.offsets[i] as number);
      if (n <= 0) break;
      this.offsets[i] = (this.offsets[i] as number) + n;
      text += this.buf.toString("utf8", 0, n);
    }
    closeSync(fd);
    const parts = text.split("\n");
    this.carry[i] = parts.pop() as string;
    if (parts.length > 0) this.onLines(i, parts);
    return parts;
  }
}

/**
 * Runs the marker generator (an exec of `/bin/true <tag>-<n>` every few ms) until
 * every tracer process has reported one of its events. Used at start-up (time to
 * the first event) and after each workload as a fence: the tracer has caught up
 * with the workload once it reports an exec made after it.
 */
async function waitForMarker(
  procs: TracerProc[],
  lives: Live[],
  follow: Followers,
  bins: Record<Generator, string>,
  tag: string,
  intervalMs: number,
  timeoutMs: number,
): Promise<string | undefined> {
  const marker = launch(bins.marker, [tag, String(intervalMs)], "ignore", "ignore");
  const markerPid = marker.child.pid as number;
  const seen = procs.map(() => false);
  const t0 = nowMs();
  try {
    for (;;) {
      for (const [i, p] of procs.entries()) {
        const lines = follow.lines(i); // always consume, so the next fence starts here
        if (!seen[i] && lines.some((l) => p.ready(l, tag, markerPid))) seen[i] = true;
      }
      if (seen.every(Boolean)) return undefined;
      const dead = lives.findIndex((l) => l.exitCode !== undefined);
      if (dead !== -1) return `${procs[dead]?.name} exited with status ${lives[dead]?.exitCode}`;
      if (nowMs() - t0 > timeoutMs) return `no marker event reported within ${timeoutMs / 1000} s`;
      await sleep(2);
    }
  } finally {
    await stop(marker, "SIGKILL", 1000);
  }
}

/** The online CPUs as a taskset list ("0-1"). */
function onlineCpus(): string {
  try {
    return readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
  } catch {
    return "0-1023";
  }
}

/**
 * Pins every thread of the given processes and their descendants to `cpus` (a
 * taskset list): `taskset -a -p -c`. Threads started later inherit the mask of the
 * thread that starts them.
 */
function pinTracer(pids: number[], cpus: string): void {
  for (const root of pids)
    for (const pid of processTree(root)) {
      const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { encoding: "utf8" });
      // A process that exited since it was listed has nothing left to pin.
      if (r.status !== 0 && existsSync(`/proc/${pid}`))
        throw new Error(`bench: taskset -a -p -c ${cpus} ${pid} failed: ${r.stderr.trim()}`);
    }
}

export async function runSession(tracer: Tracer, o: SessionOptions): Promise<SessionResult> {
  const dir = join(OUT_DIR, "runs", o.tag);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const procs = tracer.procs(dir);
  const res: SessionResult = { tracer, runs: [], lost: 0 };
  const errFiles = procs.map((p) => join(dir, `${p.name}.stderr`));
  const outFds = procs.map((p) => openSync(p.out, "w"));
  const lives: Live[] = [];
  const t0 = nowMs();
  for (const [i, p] of procs.entries()) {
    const errFd = openSync(errFiles[i] as string, "w");
    lives.push(
      launch(p.cmd, p.args, p.viaStdout ? (outFds[i] as number) : "ignore", errFd, p.env, p.inheritEnv),
    );
    closeSync(errFd);
  }
  for (const fd of outFds) closeSync(fd);
  const pids = lives.map((l) => l.child.pid as number);
  // Events are tallied by parent pid while the output is followed, so a long run's
  // output (a 5-minute soak writes hundreds of MB) is never held in memory at once.
  const tally = new Map<number, { reported: Record<Kind, number>; argvBytes: number[] }>();
  const ingest = (i: number, lines: string[]) => {
    for (const r of (procs[i] as TracerProc).parse(lines.join("\n"))) {
      if (r.kind === "lost") {
        res.lost += r.lost ?? 0;
        continue;
      }
      let t = tally.get(r.parent);
      if (!t) tally.set(r.parent, (t = { reported: { fork: 0, exec: 0, exit: 0 }, argvBytes: [] }));
      t.reported[r.kind]++;
      if (r.kind === "exec" && r.argvBytes !== undefined) t.argvBytes.push(r.argvBytes);
    }
  };
  const follow = new Followers(
    procs.map((p) => p.out),
    ingest,
  );
  const failed = async (why: string) => {
    for (const l of lives) await stop(l, "SIGKILL", 2000);
    // Some tools print their diagnosis on stdout (BCC's "Unable to find kernel
    // headers"): include small outputs too, never a run's worth of events.
    const small = procs
      .map((p) => p.out)
      .filter((f) => (statSync(f, { throwIfNoEntry: false })?.size ?? 0) < 65536);
    res.error = `${why}: ${tellingLines([...errFiles, ...small])}`;
    return res;
  };

  const startErr = await waitForMarker(
    procs,
    lives,
    follow,
    o.bins,
    o.tag,
    o.markerMs ?? 5,
    o.startTimeoutMs ?? 60_000,
  );
  if (startErr) return failed(startErr);
  res.startupMs = nowMs() - t0;

  const started = sampleTree(pids);
  res.startRssKb = started.rssKb;
  if (o.idleAfterMs) await new Promise((r) => setTimeout(r, o.idleAfterMs));
  const idle = o.idleAfterMs ? sampleTree(pids) : started;
  res.idleRssKb = idle.rssKb;
  let cpu = idle.cpuS;
  const results: { w: Workload; r: WorkloadResult; cpuS: number }[] = [];
  for (const [k, w] of o.workloads.entries()) {
    if (w.sharedCpu !== undefined) pinTracer(pids, String(w.sharedCpu));
    const r = runWorkload(o.bins, w);
    // Still pinned while the tracer catches up: that work is the workload's too.
    const fenceErr = await waitForMarker(procs, lives, follow, o.bins, `${o.tag}-fence${k}`, 20, 60_000);
    if (w.sharedCpu !== undefined && !fenceErr) pinTracer(pids, onlineCpus());
    if (fenceErr) return failed(`after ${w.id}: ${fenceErr}`);
    const c = sampleTree(pids).cpuS;
    results.push({ w, r, cpuS: c - cpu });
    cpu = c;
    o.between?.(k, sampleTree(pids));
  }
  const s = sampleTree(pids);
  res.hwmKb = s.hwmKb;
  res.rssKb = s.rssKb;
  res.pssKb = s.pssKb;
  res.ussKb = s.ussKb;
  res.anonKb = s.anonKb;
  for (const l of lives) await stop(l, "SIGINT", 10_000);

  for (const i of procs.keys()) follow.drain(i);
  for (const { w, r, cpuS } of results) {
    const t = tally.get(r.pid) ?? { reported: { fork: 0, exec: 0, exit: 0 }, argvBytes: [] };
    res.runs.push({ workload: w, result: r, cpuS, reported: t.reported, argvBytes: t.argvBytes });
  }
  rmSync(dir, { recursive: true, force: true });
  return res;
}

/** Events a workload produced, of the kinds a tracer covers. */
export function produced(w: WorkloadUnderTracer, covers: Kind[]): number {
  const n = w.result.count;
  const per: Record<string, Kind[]> = { fork: ["fork", "exit"], thread: [], exec: ["fork", "exec", "exit"] };
  return (per[w.result.name] ?? []).filter((k) => covers.includes(k)).length * n;
}

export function reportedTotal(w: WorkloadUnderTracer, covers: Kind[]): number {
  return covers.reduce((n, k) => n + w.reported[k], 0);
}
