// What `tsbpf trace --metrics` exposes: counters kept per event (events by type, lost
// by cause, alerts by rule), a histogram of drain latency, and gauges read at scrape
// time from the session (ring-buffer fill, process-table size, per-program BPF run
// time), from this process (CPU, RSS) and from each sink (NATS queue, spool).
// Names follow the Prometheus conventions: a `tsbpf_` prefix, base units in the name
// (`_seconds`, `_bytes`), `_total` on counters; the process_* families are the
// names every Prometheus client library uses for the same figures.
import { readdirSync, readFileSync } from "node:fs";
import type { TraceEvent } from "../tracker/events.ts";
import { Exposition, Histogram, type Labels } from "./prom-text.ts";

/** The kernel side of a trace session, read at scrape time. */
export interface KernelStats {
  /** The BPF ring buffer: bytes committed and not yet read, and its size (absent with the perf-buffer fallback). */
  ring?: { usedBytes: number; sizeBytes: number };
  /** bpf_prog_info of each attached program: cumulative run time and count (counted only while kernel.bpf_stats_enabled = 1). */
  programs: { name: string; runTimeNs: bigint; runCount: bigint }[];
}

/** What the metrics read from the running trace. */
export interface MetricsSource {
  processTableSize(): number;
  kernelStats(): KernelStats;
}

/** Something that adds its own families to a scrape (a sink). */
export interface MetricsContributor {
  describe(exp: Exposition): void;
}

/** Drain latency buckets (seconds): the reader batches drains up to 16 ms, a stall shows in the upper ones. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A `lost` event's kind → the metric's cause and type labels (docs/events.md, `lost`):
 * "<type>" ring buffer full, "ratelimit:<type>" the in-kernel rate limiter,
 * "perf_buffer" a full per-CPU perf ring (type unknown), "export:<type>" an export
 * sink that could not keep the event.
 */
export function lostLabels(kind: string): { cause: string; type: string } {
  const i = kind.indexOf(":");
  if (i > 0) {
    const prefix = kind.slice(0, i);
    return { cause: prefix === "ratelimit" ? "rate_limit" : prefix, type: kind.slice(i + 1) };
  }
  if (kind === "perf_buffer") return { cause: "perf_buffer_full", type: "unknown" };
  return { cause: "ring_full", type: kind };
}

export interface TraceMetricsOptions {
  version: string;
  /** Read kernel.bpf_stats_enabled (default: /proc/sys/kernel/bpf_stats_enabled). */
  bpfStatsEnabled?: () => boolean;
}

function readBpfStatsEnabled(): boolean {
  try {
    return readFileSync("/proc/sys/kernel/bpf_stats_enabled", "utf8").trim() === "1";
  } catch {
    return false;
  }
}

export class TraceMetrics {
  private readonly events = new Map<string, number>();
  private readonly lost = new Map<string, { labels: Labels; n: number }>();
  private readonly alerts = new Map<string, { labels: Labels; n: number }>();
  private readonly latency = new Histogram(LATENCY_BUCKETS);
  private readonly contributors: MetricsContributor[] = [];
  private readonly startedAt = Date.now() / 1000;
  private readonly statsEnabled: () => boolean;

  constructor(
    private readonly source: MetricsSource,
    private readonly opts: TraceMetricsOptions,
  ) {
    this.statsEnabled = opts.bpfStatsEnabled ?? readBpfStatsEnabled;
    // The four kernel event types exist from the first scrape (a rate() over a
    // series that appears late misses its first increase).
    for (const t of ["fork", "exec", "exec_failed", "exit"]) this.events.set(t, 0);
  }

  add(c: MetricsContributor): void {
    this.contributors.push(c);
  }

  /** Every event the session produced (before the output's own filters), and each alert. */
  event(ev: TraceEvent): void {
    switch (ev.event) {
      case "lost": {
        const e = this.lost.get(ev.kind);
        if (e) e.n += ev.count;
        else this.lost.set(ev.kind, { labels: lostLabels(ev.kind), n: ev.count });
        return;
      }
      case "alert": {
        const key = `${ev.rule}\0${ev.severity}`;
        const e = this.alerts.get(key);
        if (e) e.n++;
        else this.alerts.set(key, { labels: { rule: ev.rule, severity: ev.severity }, n: 1 });
        return;
      }
      default:
        this.events.set(ev.event, (this.events.get(ev.event) ?? 0) + 1);
    }
  }

  /** A drain was handed out at `nowMs`; its oldest event happened at `oldestMs`. */
  drained(oldestMs: number, nowMs: number): void {
    this.latency.observe(Math.max(0, nowMs - oldestMs) / 1000);
  }

  render(): string {
    const x = new Exposition();
    x.each("tsbpf_build_info", "gauge", "tsbpf version (always 1)", [[{ version: this.opts.version }, 1]]);
    x.each("tsbpf_trace_start_time_seconds", "gauge", "When the trace started (Unix time)", [
      [{}, this.startedAt],
    ]);
    x.each(
      "tsbpf_events_total",
      "counter",
      "Events reported by the kernel side, by type (thread events count with fork and exit)",
      [...this.events].map(([type, n]) => [{ type }, n]),
    );
    x.each(
      "tsbpf_lost_events_total",
      "counter",
      "Events lost, by cause (ring_full, rate_limit, perf_buffer_full, export) and type",
      [...this.lost.values()].map((e) => [e.labels, e.n]),
    );
    x.each(
      "tsbpf_alerts_total",
      "counter",
      "Alerts raised, by rule and severity",
      [...this.alerts.values()].map((e) => [e.labels, e.n]),
    );
    x.histogram(
      "tsbpf_drain_latency_seconds",
      "Age of the oldest event of each ring-buffer drain when user space read it",
      this.latency,
    );
    x.each("tsbpf_process_table_entries", "gauge", "Processes in the tracer's process table", [
      [{}, this.source.processTableSize()],
    ]);
    const k = this.source.kernelStats();
    if (k.ring) {
      x.each("tsbpf_ringbuf_used_bytes", "gauge", "Bytes written to the BPF ring buffer and not yet read", [
        [{}, k.ring.usedBytes],
      ]);
      x.each("tsbpf_ringbuf_size_bytes", "gauge", "Size of the BPF ring buffer", [[{}, k.ring.sizeBytes]]);
    }
    const stats = this.statsEnabled();
    x.each(
      "tsbpf_bpf_stats_enabled",
      "gauge",
      "1 when kernel.bpf_stats_enabled is on (BPF run times are counted)",
      [[{}, stats ? 1 : 0]],
    );
    // The kernel counts run time only while stats are on; the figures of a
    // program whose counters never moved would be zeros that look like data.
    const progs = k.programs.filter((p) => stats || p.runCount > 0n);
    if (progs.length > 0) {
      x.each(
        "tsbpf_bpf_program_run_time_seconds_total",
        "counter",
        "Time the kernel spent running each BPF program (bpf_prog_info run_time_ns)",
        progs.map((p) => [{ program: p.name }, Number(p.runTimeNs) / 1e9]),
      );
      x.each(
        "tsbpf_bpf_program_runs_total",
        "counter",
        "Runs of each BPF program (bpf_prog_info run_cnt)",
        progs.map((p) => [{ program: p.name }, p.runCount]),
      );
    }
    processMetrics(x);
    for (const c of this.contributors) c.describe(x);
    return x.text();
  }
}

/** The standard process_* families (as every Prometheus client library names them). */
function processMetrics(x: Exposition): void {
  const cpu = process.cpuUsage();
  x.each("process_cpu_seconds_total", "counter", "User and system CPU time of the tracer (all threads)", [
    [{}, (cpu.user + cpu.system) / 1e6],
  ]);
  x.each("process_resident_memory_bytes", "gauge", "Resident memory of the tracer", [
    [{}, process.memoryUsage.rss()],
  ]);
  x.each("process_start_time_seconds", "gauge", "Start time of the tracer process (Unix time)", [
    [{}, Math.round(Date.now() / 1000 - process.uptime())],
  ]);
  let fds = 0;
  try {
    fds = readdirSync("/proc/self/fd").length;
  } catch {
    return;
  }
  x.each("process_open_fds", "gauge", "Open file descriptors of the tracer", [[{}, fds]]);
}
