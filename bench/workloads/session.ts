// One tracer session: launch the tracer's processes, time how long until they
// report the marker generator's execs (start-up), run workloads one after another
// under it, and attribute to each workload its tracer CPU time and the events the
// tracer reported about it (matched by the workload's pid as parent).
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Generator, OUT_DIR, runWorkload, type Workload, type WorkloadResult } from "./build.ts";
import { sampleTree } from "./procstat.ts";
import type { Kind, Rec, Tracer } from "./tracers.ts";

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
  lost: number;
}

interface Live {
  child: ChildProcess;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

function launch(cmd: string, args: string[], stdoutFd: number | "ignore", stderrFd: number): Live {
  const child = spawn(cmd, args, { stdio: ["ignore", stdoutFd, stderrFd] });
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

function size(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

/** Waits until none of the files has grown for quietMs (at most maxMs). */
async function settle(files: string[], quietMs = 400, maxMs = 15_000): Promise<void> {
  const t0 = nowMs();
  let last = files.map(size).join();
  let since = nowMs();
  while (nowMs() - t0 < maxMs) {
    await sleep(50);
    const cur = files.map(size).join();
    if (cur !== last) {
      last = cur;
      since = nowMs();
    } else if (nowMs() - since >= quietMs) return;
  }
}

function tailOf(p: string, n = 6): string {
  let s = "";
  try {
    s = readFileSync(p, "utf8");
  } catch {}
  const lines = s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^(File |\^|Traceback|\s)/.test(l));
  return lines.slice(-n).join(" / ");
}

export interface SessionOptions {
  bins: Record<Generator, string>;
  workloads: Workload[];
  /** unique per session, so markers of different sessions never match */
  tag: string;
  /** marker interval, ms */
  markerMs?: number;
  startTimeoutMs?: number;
  /** called between workloads, e.g. for RSS sampling in the soak */
  keep?: boolean;
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
    lives.push(launch(p.cmd, p.args, p.viaStdout ? (outFds[i] as number) : "ignore", errFd));
    closeSync(errFd);
  }
  for (const fd of outFds) closeSync(fd);
  const pids = lives.map((l) => l.child.pid as number);

  // Start-up: the marker generator execs until every process has reported it.
  const marker = launch(
    o.bins.marker,
    [o.tag, String(o.markerMs ?? 5)],
    "ignore",
    openSync("/dev/null", "w"),
  );
  const markerPid = marker.child.pid as number;
  const seen = procs.map(() => false);
  const texts = procs.map(() => "");
  const offsets = procs.map(() => 0);
  const buf = Buffer.alloc(1 << 20);
  const deadline = t0 + (o.startTimeoutMs ?? 60_000);
  try {
    while (!seen.every(Boolean)) {
      for (const [i, p] of procs.entries()) {
        if (seen[i]) continue;
        let fd: number;
        try {
          fd = openSync(p.out, "r");
        } catch {
          continue;
        }
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, offsets[i] as number);
          if (n <= 0) break;
          offsets[i] = (offsets[i] as number) + n;
          texts[i] += buf.toString("utf8", 0, n);
        }
        closeSync(fd);
        if (p.ready(texts[i] as string, o.tag, markerPid)) seen[i] = true;
      }
      if (seen.every(Boolean)) break;
      const dead = lives.findIndex((l) => l.exitCode !== undefined);
      if (dead !== -1) {
        res.error = `${procs[dead]?.name} exited with status ${lives[dead]?.exitCode}: ${tailOf(errFiles[dead] as string)}`;
        break;
      }
      if (nowMs() > deadline) {
        res.error = `no event reported within ${(o.startTimeoutMs ?? 60_000) / 1000} s: ${errFiles.map((f) => tailOf(f)).join(" / ")}`;
        break;
      }
      await sleep(2);
    }
    if (!res.error) res.startupMs = nowMs() - t0;
  } finally {
    await stop(marker, "SIGKILL", 1000);
  }
  if (res.error) {
    for (const l of lives) await stop(l, "SIGKILL", 2000);
    return res;
  }

  const outs = procs.map((p) => p.out);
  await settle(outs);
  let cpu = sampleTree(pids).cpuS;
  const results: { w: Workload; r: WorkloadResult; cpuS: number }[] = [];
  for (const w of o.workloads) {
    const r = runWorkload(o.bins, w);
    await settle(outs);
    const c = sampleTree(pids).cpuS;
    results.push({ w, r, cpuS: c - cpu });
    cpu = c;
  }
  const s = sampleTree(pids);
  res.hwmKb = s.hwmKb;
  res.rssKb = s.rssKb;
  for (const l of lives) await stop(l, "SIGINT", 10_000);

  // Count what each workload got reported. Output files can be tens of MB.
  const recs: Rec[] = [];
  for (const p of procs) {
    let text = "";
    try {
      text = readFileSync(p.out, "utf8");
    } catch {}
    for (const r of p.parse(text)) recs.push(r);
  }
  const byParent = new Map<number, Rec[]>();
  for (const r of recs) {
    if (r.kind === "lost") res.lost += r.lost ?? 0;
    else {
      const l = byParent.get(r.parent);
      if (l) l.push(r);
      else byParent.set(r.parent, [r]);
    }
  }
  for (const { w, r, cpuS } of results) {
    const mine = byParent.get(r.pid) ?? [];
    const reported = { fork: 0, exec: 0, exit: 0 };
    const argvBytes: number[] = [];
    for (const x of mine) {
      reported[x.kind as Kind]++;
      if (x.kind === "exec" && x.argvBytes !== undefined) argvBytes.push(x.argvBytes);
    }
    res.runs.push({ workload: w, result: r, cpuS, reported, argvBytes });
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
