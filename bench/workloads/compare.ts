// Interleaved A/B comparison of tracers over workloads. Each repetition runs every
// workload with no tracer and then under each tracer, in an order rotated per
// repetition, so slow drifts of this noisy 2-core machine hit every configuration
// alike; figures are medians (rates) or sums (events, CPU) over the repetitions.
import { STARTUP_OVER_MS } from "../../src/binary/file-pages.ts";
import { median, table } from "../lib.ts";
import type { Generator, Workload, WorkloadResult } from "./build.ts";
import { runWorkload } from "./build.ts";
import { produced, reportedTotal, runSession, type SessionResult } from "./session.ts";
import type { Tracer } from "./tracers.ts";

export interface Cell {
  rates: number[];
  produced: number;
  reported: number;
  cpuS: number;
  /** thread storm: CPU is per 10k threads, as no process event is produced */
  ops: number;
  argvCaptured: number[];
  argvPassed?: number;
}

export interface TracerSummary {
  tracer: Tracer;
  /** It never started (not installed, or failed at start-up): not retried. */
  error?: string;
  /** Sessions that failed after a successful one, or after start-up (a crash): their
   * data is dropped and the next repetition tries again. */
  crashes: string[];
  sessions: number;
  startupMs: number[];
  hwmKb: number[];
  rssKb: number[];
  /** Per session, after the workloads (SessionResult). */
  pssKb: number[];
  ussKb: number[];
  anonKb: number[];
  startRssKb: number[];
  idleRssKb: number[];
  lost: number;
  cells: Map<string, Cell>;
}

/**
 * How long each tracer sits idle after its first event before its idle RSS is taken:
 * past tsbpf's drop of its start-up pages (STARTUP_OVER_MS after the session opened)
 * with a second to spare, the same for every tracer.
 */
export const IDLE_AFTER_MS = STARTUP_OVER_MS + 1000;

export interface Comparison {
  workloads: Workload[];
  baseline: Map<string, number[]>;
  /** Rates with no tracer but a busy loop running (the workloads in CompareOptions.busyControl). */
  busy: Map<string, number[]>;
  tracers: TracerSummary[];
  reps: number;
}

export interface CompareOptions {
  bins: Record<Generator, string>;
  tracers: Tracer[];
  workloads: Workload[];
  reps: number;
  log: (s: string) => void;
  /**
   * Workload ids also run with no tracer and a busy loop beside them, in the no-tracer
   * slot of each repetition: the control for Workload.sharedCpu's finding.
   */
  busyControl?: string[];
}

let sessionNo = 0;

export async function compare(o: CompareOptions): Promise<Comparison> {
  const baseline = new Map<string, number[]>(o.workloads.map((w) => [w.id, []]));
  const busyIds = new Set(o.busyControl ?? []);
  const busy = new Map<string, number[]>(o.workloads.filter((w) => busyIds.has(w.id)).map((w) => [w.id, []]));
  const sums: TracerSummary[] = o.tracers.map((tracer) => ({
    tracer,
    crashes: [],
    sessions: 0,
    startupMs: [],
    hwmKb: [],
    rssKb: [],
    pssKb: [],
    ussKb: [],
    anonKb: [],
    startRssKb: [],
    idleRssKb: [],
    lost: 0,
    cells: new Map(
      o.workloads.map((w) => [
        w.id,
        { rates: [], produced: 0, reported: 0, cpuS: 0, ops: 0, argvCaptured: [] },
      ]),
    ),
  }));
  const configs = [undefined, ...sums];
  for (let rep = 0; rep < o.reps; rep++) {
    const order = configs.map((_, i) => configs[(i + rep) % configs.length]);
    for (const s of order) {
      if (s === undefined) {
        const rs: WorkloadResult[] = o.workloads.map((w) => runWorkload(o.bins, w));
        for (const [i, w] of o.workloads.entries()) baseline.get(w.id)?.push(rs[i]?.rate as number);
        o.log(
          `  rep ${rep + 1}: no tracer   ${rs.map((r, i) => `${o.workloads[i]?.id} ${r.rate.toFixed(0)}/s`).join(", ")}`,
        );
        for (const w of o.workloads.filter((x) => busyIds.has(x.id))) {
          const r = runWorkload(o.bins, w, true);
          busy.get(w.id)?.push(r.rate);
          o.log(`  rep ${rep + 1}: no tracer, a busy loop beside it: ${w.id} ${r.rate.toFixed(0)}/s`);
        }
        continue;
      }
      if (s.error) continue; // failed to start once: reported, not retried
      const miss = s.tracer.missing();
      if (miss) {
        s.error = miss;
        continue;
      }
      const r: SessionResult = await runSession(s.tracer, {
        bins: o.bins,
        workloads: o.workloads,
        tag: `tsbpf-marker-${process.pid}-${++sessionNo}`,
        idleAfterMs: IDLE_AFTER_MS,
      });
      s.sessions++;
      if (r.error) {
        if (r.startupMs === undefined && s.startupMs.length === 0 && s.crashes.length === 0)
          s.error = r.error;
        else s.crashes.push(r.error);
        o.log(`  rep ${rep + 1}: ${s.tracer.label} FAILED: ${r.error}`);
        continue;
      }
      s.startupMs.push(r.startupMs as number);
      s.hwmKb.push(r.hwmKb as number);
      s.rssKb.push(r.rssKb as number);
      s.pssKb.push(r.pssKb as number);
      s.ussKb.push(r.ussKb as number);
      s.anonKb.push(r.anonKb as number);
      s.startRssKb.push(r.startRssKb as number);
      s.idleRssKb.push(r.idleRssKb as number);
      s.lost += r.lost;
      for (const run of r.runs) {
        const c = s.cells.get(run.workload.id) as Cell;
        c.rates.push(run.result.rate);
        c.produced += produced(run, s.tracer.covers);
        c.reported += reportedTotal(run, s.tracer.covers);
        c.cpuS += run.cpuS;
        c.ops += run.result.count;
        c.argvCaptured.push(...run.argvBytes);
        c.argvPassed = run.result.argvBytes;
      }
      o.log(
        `  rep ${rep + 1}: ${s.tracer.label.padEnd(11)} start-up ${(r.startupMs as number).toFixed(0)} ms, ` +
          r.runs
            .map(
              (x) =>
                `${x.workload.id} ${x.result.rate.toFixed(0)}/s ${reportedTotal(x, s.tracer.covers)}/${produced(x, s.tracer.covers)} ev`,
            )
            .join(", "),
      );
    }
  }
  return { workloads: o.workloads, baseline, busy, tracers: sums, reps: o.reps };
}

// ---- derived figures --------------------------------------------------------

/**
 * A workload's no-tracer rows for a results table `width` columns wide: the plain
 * no-tracer rate and, when it was run, the busy-loop control (rate ÷ the plain one).
 */
export function controlRows(cmp: Comparison, w: Workload, width: number): string[][] {
  const pad = (r: string[]) => [...r, ...Array<string>(Math.max(0, width - r.length)).fill("")];
  const base = median(cmp.baseline.get(w.id) as number[]);
  const rows = [pad([w.label, "(no tracer)", fmt.n(base), "1.00"])];
  const busy = cmp.busy.get(w.id);
  if (busy?.length)
    rows.push(
      pad([
        w.label,
        "(no tracer, a busy loop beside it)",
        fmt.n(median(busy)),
        fmt.n(median(busy) / base, 3),
      ]),
    );
  return rows;
}

export function rateOf(c: Cell): number {
  return median(c.rates);
}

export function slowdown(cmp: Comparison, s: TracerSummary, wid: string): number {
  return rateOf(s.cells.get(wid) as Cell) / median(cmp.baseline.get(wid) as number[]);
}

/** Tracer CPU seconds per 10,000 events (per 10,000 threads for the thread storm). */
export function cpuPer10k(c: Cell): number {
  const n = c.produced > 0 ? c.produced : c.ops;
  return n > 0 ? (c.cpuS / n) * 10_000 : Number.NaN;
}

/** Mean fraction of each argv captured, and how many execs had all of it. */
export function argvCapture(c: Cell): { fraction: number; complete: number; n: number } | undefined {
  if (!c.argvPassed || c.argvCaptured.length === 0) return undefined;
  const passed = c.argvPassed;
  const fr = c.argvCaptured.map((b) => Math.min(b, passed) / passed);
  return {
    fraction: fr.reduce((a, b) => a + b, 0) / fr.length,
    complete: c.argvCaptured.filter((b) => b >= passed).length,
    n: c.argvCaptured.length,
  };
}

export const fmt = {
  n: (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "n/a"),
  mb: (kb: number[]) => (kb.length ? `${(median(kb) / 1024).toFixed(1)} MB` : "n/a"),
  ms: (xs: number[]) => (xs.length ? `${median(xs).toFixed(0)} ms` : "n/a"),
  pct: (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "n/a"),
};

/**
 * The memory table of a comparison: per tracer, medians over its sessions of RSS when
 * its first event came (at start), RSS after IDLE_AFTER_MS more with nothing to trace
 * (idle), peak RSS (VmHWM) over the whole session, and RSS, PSS, USS and anonymous RSS
 * after the workloads. PSS and USS show how much of the RSS is file pages
 * shared with the page cache or other processes (a binary's text), which RSS counts in
 * full for every process.
 */
export function memoryTable(cmp: Comparison): string {
  return table(
    [
      "tracer",
      "RSS at start",
      `idle RSS (${IDLE_AFTER_MS / 1000} s on)`,
      "peak RSS",
      "RSS after",
      "PSS after",
      "USS after",
      "anon RSS after",
    ],
    cmp.tracers.map((s) => [
      s.tracer.label,
      fmt.mb(s.startRssKb),
      fmt.mb(s.idleRssKb),
      fmt.mb(s.hwmKb),
      fmt.mb(s.rssKb),
      fmt.mb(s.pssKb),
      fmt.mb(s.ussKb),
      fmt.mb(s.anonKb),
    ]),
  );
}

/** Median peak RSS of tracer a ÷ that of tracer b (the footprint headline, issue 23). */
export function peakRssRatio(a: TracerSummary, b: TracerSummary): number {
  return median(a.hwmKb) / median(b.hwmKb);
}
