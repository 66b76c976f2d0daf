// The export layer of `tsbpf trace`: one object that owns the metrics endpoint and
// every sink, fed by the trace loop. Nothing here is loaded unless an export option
// is used (the CLI imports this module lazily).
import type { TraceEvent } from "../tracker/events.ts";
import { eventTimeMs } from "../tracker/events.ts";
import type { TraceSink } from "../tracker/sink.ts";
import type { ListenAddress } from "./address.ts";
import { ExportError } from "./errors.ts";
import { checkHostName, checkSubjectTemplate, defaultHostName, expandSubject, newRunId } from "./identity.ts";
import { type KernelStats, type MetricsSource, TraceMetrics } from "./metrics.ts";
import { type MetricsServer, startMetricsServer } from "./metrics-server.ts";
import { parseServers } from "./nats-client.ts";
import { NatsPublisher } from "./nats-publish.ts";
import type { EventSink } from "./sink.ts";

export { ExportError } from "./errors.ts";
export type { EventSink } from "./sink.ts";

export interface NatsExportOptions {
  /** Server URL(s), comma-separated. */
  url: string;
  /** Subject template; `{host}` is replaced by the host name (default tsbpf.events.{host}). */
  subject?: string;
  stream?: string;
  replicas?: number;
  spoolDir?: string;
  spoolBytes?: number;
  /** ms close() waits for the queue to drain. */
  drainTimeoutMs?: number;
}

export interface ExportOptions {
  metrics?: ListenAddress;
  nats?: NatsExportOptions;
  /** Host identity of exported events (default: this machine's name). */
  host?: string;
  version: string;
  onWarning?: (msg: string) => void;
}

export const DEFAULT_SUBJECT = "tsbpf.events.{host}";
export const DEFAULT_SPOOL_DIR = "/var/lib/tsbpf/spool";

/** Session figures, bound once the trace is open (a scrape before that sees zeros). */
export interface ExportSessionView {
  processTableSize(): number;
  kernelStats(): KernelStats;
}

export class TraceExports {
  readonly sinks: EventSink[] = [];
  readonly metrics: TraceMetrics | undefined;
  private server: MetricsServer | undefined;
  private view: ExportSessionView | undefined;
  readonly host: string;

  private constructor(opts: ExportOptions) {
    this.host = opts.host !== undefined ? checkHostName(opts.host) : defaultHostName();
    if (opts.metrics) {
      const source: MetricsSource = {
        processTableSize: () => this.view?.processTableSize() ?? 0,
        kernelStats: () => this.view?.kernelStats() ?? { programs: [] },
      };
      this.metrics = new TraceMetrics(source, { version: opts.version });
    }
  }

  /**
   * Validates everything and starts the metrics server and the NATS connection (in
   * the background: events spool until it is up), before anything is loaded into the
   * kernel, so a busy port or a bad URL fails fast.
   */
  static async start(opts: ExportOptions): Promise<TraceExports> {
    const x = new TraceExports(opts);
    try {
      if (opts.nats) {
        const n = opts.nats;
        const template = checkSubjectTemplate(n.subject ?? DEFAULT_SUBJECT);
        const pub = await NatsPublisher.start({
          servers: parseServers(n.url),
          subject: expandSubject(template, x.host),
          subjectTemplate: template,
          host: x.host,
          run: newRunId(),
          stream: n.stream,
          replicas: n.replicas,
          spoolDir: n.spoolDir ?? DEFAULT_SPOOL_DIR,
          spoolBytes: n.spoolBytes,
          drainTimeoutMs: n.drainTimeoutMs,
          onWarning: opts.onWarning,
        });
        x.sinks.push(pub);
        x.metrics?.add(pub);
      }
      if (opts.metrics && x.metrics) {
        const m = x.metrics;
        x.server = await startMetricsServer(opts.metrics, () => m.render());
      }
    } catch (e) {
      await x.close();
      throw e;
    }
    return x;
  }

  get metricsAddress(): ListenAddress | undefined {
    return this.server?.address;
  }

  bind(view: ExportSessionView): void {
    this.view = view;
  }

  private batchFirst: TraceEvent | undefined;

  /** Every event and alert the trace produced, before its filters (TraceConfig.observe). */
  observe(ev: TraceEvent): void {
    const m = this.metrics;
    if (!m) return;
    m.event(ev);
    this.batchFirst ??= ev;
  }

  /**
   * The trace sink that feeds the exporters. Put it first in the trace's list: what
   * the exporters could not keep comes back as `lost` events, which it passes to
   * `others` (the output, the summary) and to the exporters themselves, also at the
   * end, before the others close.
   */
  sink(others: readonly TraceSink[]): TraceSink {
    const sinks = this.sinks;
    const deliver = (lost: TraceEvent[]) => {
      for (const l of lost) {
        this.metrics?.event(l);
        for (const o of others) o.write(l);
        for (const s of sinks) s.write(l);
      }
    };
    return {
      write: (ev) => {
        for (let i = 0; i < sinks.length; i++) (sinks[i] as EventSink).write(ev);
      },
      flush: () => {
        if (this.batchFirst && this.metrics) this.metrics.drained(eventTimeMs(this.batchFirst), Date.now());
        this.batchFirst = undefined;
        if (sinks.length > 0) deliver(this.takeLost());
      },
      end: async () => {
        const lost = await this.close();
        for (const l of lost) {
          this.metrics?.event(l);
          for (const o of others) o.write(l);
        }
      },
    };
  }

  /** `lost` events for what the sinks had to drop since the previous call. */
  takeLost(now = new Date()): TraceEvent[] {
    if (this.sinks.length === 0) return [];
    const out: TraceEvent[] = [];
    for (const s of this.sinks) out.push(...s.takeLost(now));
    return out;
  }

  /** Drains and closes the sinks (their last losses come back), then the metrics server. */
  private closed = false;

  async close(): Promise<TraceEvent[]> {
    if (this.closed) return [];
    this.closed = true;
    const errors: unknown[] = [];
    for (const s of this.sinks) await s.close().catch((e) => errors.push(e));
    const lost = this.takeLost();
    await this.server?.close();
    this.server = undefined;
    if (errors.length > 0)
      throw errors[0] instanceof ExportError ? errors[0] : new ExportError(String(errors[0]));
    return lost;
  }
}
