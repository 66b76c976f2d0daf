// `tsbpf fleet`: the merged view of many tracers' events from a JetStream stream.
// FleetView is the pure part (deduplication, counts per host, alerts across hosts,
// a per-host Summary over a per-host process table); consumeFleet() reads the
// stream into it through a durable consumer (or an ordered one for a time window).
import type { TraceEvent } from "../tracker/events.ts";
import { ProcessTable } from "../tracker/process-table.ts";
import { Summary } from "../tracker/summary.ts";
import { ExportError } from "./errors.ts";
import { errText, loadNats, type NatsModules } from "./nats-client.ts";

/** A line of the stream: an event with the publisher's identity (nats-lines.ts). */
export type FleetEvent = TraceEvent & { host: string; run: string; seq: number };

export interface HostState {
  host: string;
  counts: Map<string, number>;
  alerts: number;
  lost: number;
  lastTime: string;
  /** Events dropped as duplicates (seen twice: a publisher retry after a restart). */
  duplicates: number;
  table: ProcessTable;
  summary: Summary;
}

export class FleetView {
  readonly hosts = new Map<string, HostState>();
  /** Highest seq seen per host and tracer run: lines of one run arrive in order. */
  private readonly lastSeq = new Map<string, number>();
  malformed = 0;

  private host(name: string): HostState {
    let h = this.hosts.get(name);
    if (!h) {
      const table = new ProcessTable();
      h = {
        host: name,
        counts: new Map(),
        alerts: 0,
        lost: 0,
        lastTime: "",
        duplicates: 0,
        table,
        summary: new Summary(table),
      };
      this.hosts.set(name, h);
    }
    return h;
  }

  /**
   * Parses one line; returns the event, or undefined for a duplicate or a line that
   * is not a tsbpf event (counted in `malformed`).
   */
  add(line: string): FleetEvent | undefined {
    let ev: FleetEvent;
    try {
      ev = JSON.parse(line) as FleetEvent;
    } catch {
      this.malformed++;
      return undefined;
    }
    if (
      typeof ev !== "object" ||
      ev === null ||
      typeof ev.host !== "string" ||
      typeof ev.run !== "string" ||
      typeof ev.seq !== "number" ||
      typeof ev.event !== "string"
    ) {
      this.malformed++;
      return undefined;
    }
    const h = this.host(ev.host);
    const key = `${ev.host}\0${ev.run}`;
    const last = this.lastSeq.get(key) ?? 0;
    if (ev.seq <= last) {
      h.duplicates++;
      return undefined;
    }
    this.lastSeq.set(key, ev.seq);
    h.counts.set(ev.event, (h.counts.get(ev.event) ?? 0) + 1);
    if (ev.event === "alert") h.alerts++;
    if (ev.event === "lost" && typeof ev.count === "number") h.lost += ev.count;
    if (typeof ev.time === "string" && ev.time > h.lastTime) h.lastTime = ev.time;
    try {
      h.table.apply(ev);
      h.summary.add(ev);
    } catch {
      // An event with fields of unexpected types: counted, not summarised.
    }
    return ev;
  }
}

export interface FleetConsumeOptions {
  servers: string[];
  stream: string;
  /** Durable consumer name (resumes where it stopped); ignored with `since`. */
  durable: string;
  /** Only subjects matching this filter (default: the whole stream). */
  subject?: string;
  /** Replay from this time with an ordered (ephemeral) consumer. */
  since?: Date;
  /** Stop once the consumer has nothing pending (a time window, or --no-follow). */
  untilCaughtUp: boolean;
  signal: AbortSignal;
  /** Each message's body (one or more NDJSON lines). */
  onMessage: (body: Uint8Array) => void;
  modules?: NatsModules;
}

/** Reads the stream until the signal aborts (or, with untilCaughtUp, until nothing is pending). */
export async function consumeFleet(o: FleetConsumeOptions): Promise<void> {
  const mods = o.modules ?? (await loadNats());
  let nc: Awaited<ReturnType<NatsModules["transport"]["connect"]>>;
  try {
    nc = await mods.transport.connect({
      servers: o.servers,
      name: "tsbpf-fleet",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (e) {
    throw new ExportError(`cannot connect to NATS ${o.servers.join(",")}: ${errText(e)}`);
  }
  try {
    const { AckPolicy, DeliverPolicy } = mods.jetstream;
    const jsm = await mods.jetstream.jetstreamManager(nc);
    try {
      await jsm.streams.info(o.stream);
    } catch (e) {
      throw new ExportError(`NATS stream ${o.stream}: ${errText(e)}`);
    }
    const js = mods.jetstream.jetstream(nc);
    let consumer: Awaited<ReturnType<typeof js.consumers.get>>;
    if (o.since) {
      consumer = await js.consumers.get(o.stream, {
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: o.since.toISOString(),
        ...(o.subject ? { filter_subjects: [o.subject] } : {}),
      });
    } else {
      try {
        await jsm.consumers.info(o.stream, o.durable);
      } catch {
        await jsm.consumers.add(o.stream, {
          durable_name: o.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ...(o.subject ? { filter_subject: o.subject } : {}),
        });
      }
      consumer = await js.consumers.get(o.stream, o.durable);
    }
    if (o.untilCaughtUp) {
      const info = await consumer.info();
      if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    }
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => messages.stop();
    o.signal.addEventListener("abort", stop, { once: true });
    try {
      if (o.signal.aborted) return;
      for await (const m of messages) {
        o.onMessage(m.data);
        // An ordered consumer (a time window) takes no acknowledgements.
        if (!o.since) m.ack();
        if (o.untilCaughtUp && m.info.pending === 0) break;
      }
    } finally {
      o.signal.removeEventListener("abort", stop);
      messages.stop();
    }
  } finally {
    await nc.drain().catch(() => nc.close());
  }
}
