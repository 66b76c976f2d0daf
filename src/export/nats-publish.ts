// Publishes the trace to a NATS JetStream stream, with acknowledgements, through a
// bounded spool (spool.ts) when the server is unreachable or slower than the tracer.
//
// Order and exactly-once. One message is in flight at a time, and a failed one is
// sent again, byte for byte, with the same Nats-Msg-Id, until the server
// acknowledges it: a copy stored by an attempt whose acknowledgement was lost is
// dropped by the stream's duplicate window. Pipelining single events would be faster
// but cannot keep order across failures: if message N is lost (its stream leader died)
// and N+1 is stored (a new leader was elected, or the client flushed N+1 from its
// reconnect buffer), N's retry lands after N+1, and nothing can move it back. So a
// message carries every event that queued while the previous one was in flight
// (whole NDJSON lines, at most BATCH_BYTES): one event when the tracer is quiet, a
// batch per round trip under load. Every line still has its own host/run/seq
// (nats-lines.ts), which is what consumers deduplicate on.

import { lostEvent } from "../tracker/build.ts";
import type { LostEvent, TraceEvent } from "../tracker/events.ts";
import { ExportError } from "./errors.ts";
import { subjectFilter } from "./identity.ts";
import type { MetricsContributor } from "./metrics.ts";
import { errText, loadNats, type NatsModules } from "./nats-client.ts";
import { batchMessageId, countLines, LineEncoder } from "./nats-lines.ts";
import type { Exposition } from "./prom-text.ts";
import { DropCounter, type EventSink } from "./sink.ts";
import { SpoolQueue } from "./spool.ts";

/** Most bytes of events per message (JetStream's default max_payload is 1 MiB). */
export const BATCH_BYTES = 256 * 1024;

export interface NatsPublisherOptions {
  servers: string[];
  /** The subject, already expanded for this host. */
  subject: string;
  /** The subject template, for the stream's subject filter when the stream is created. */
  subjectTemplate: string;
  host: string;
  run: string;
  /** Stream to create when no stream holds the subject (default "TSBPF"). */
  stream?: string;
  /** Replicas of a stream this publisher creates (default 1). */
  replicas?: number;
  spoolDir: string;
  spoolBytes?: number;
  memoryBytes?: number;
  /** ms to wait for an acknowledgement (default 5000). */
  ackTimeoutMs?: number;
  /** ms close() waits for the queue to drain before leaving the rest in the spool (default 5000). */
  drainTimeoutMs?: number;
  /** Warnings (connection lost/restored), once per change of state. */
  onWarning?: (msg: string) => void;
  /** Only for tests: the client modules. */
  modules?: NatsModules;
}

type Conn = Awaited<ReturnType<NatsModules["transport"]["connect"]>>;
type Js = ReturnType<NatsModules["jetstream"]["jetstream"]>;

export class NatsPublisher implements EventSink, MetricsContributor {
  private readonly queue: SpoolQueue;
  private readonly enc: LineEncoder;
  private readonly drops = new DropCounter("export");
  private seq = 0;
  private closing = false;
  private closed = false;
  private nc: Conn | undefined;
  private js: Js | undefined;
  private wake: (() => void) | undefined;
  private pumpDone: Promise<void> | undefined;
  private connected = false;
  private lastError = "";
  /** Counters for the metrics. */
  publishedEvents = 0;
  publishedMessages = 0;
  failedAttempts = 0;

  private constructor(
    private readonly o: NatsPublisherOptions,
    private readonly mods: NatsModules,
  ) {
    this.queue = new SpoolQueue({
      dir: o.spoolDir,
      maxBytes: o.spoolBytes,
      memoryBytes: o.memoryBytes,
    });
    this.enc = new LineEncoder(o.host, o.run);
  }

  /** Loads the client and starts connecting in the background: events queue meanwhile. */
  static async start(o: NatsPublisherOptions): Promise<NatsPublisher> {
    const mods = o.modules ?? (await loadNats());
    const p = new NatsPublisher(o, mods);
    p.pumpDone = p.run();
    return p;
  }

  write(ev: TraceEvent): void {
    if (this.closed) return;
    const line = this.enc.encode(ev, ++this.seq);
    let ok: boolean;
    try {
      ok = this.queue.push(line);
    } catch (e) {
      // The spool's disk failed (full, read-only): the event cannot be kept.
      this.warn(`cannot spool events: ${errText(e)}`);
      ok = false;
    }
    if (!ok) this.drops.drop(ev.event === "lost" ? "lost" : ev.event);
    this.wake?.();
  }

  takeLost(now: Date): LostEvent[] {
    return this.drops.take(now, lostEvent);
  }

  private warned = "";
  private warn(msg: string): void {
    if (msg === this.warned) return;
    this.warned = msg;
    this.o.onWarning?.(msg);
  }

  /**
   * Waits `ms`. An idle wait (`byEvents`) ends early when an event is queued; a
   * back-off after a failure ends early only on close(), so a storm of events does
   * not turn retries into a busy loop.
   */
  private sleep(ms: number, byEvents = false): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        if (self.wake === done) self.wake = undefined;
        if (self.wakeOnClose === done) self.wakeOnClose = undefined;
        resolve();
      }
      if (byEvents) this.wake = done;
      else this.wakeOnClose = done;
    });
  }

  private wakeOnClose: (() => void) | undefined;

  private async connect(): Promise<void> {
    let backoff = 250;
    while (!this.closed) {
      try {
        const nc = await this.mods.transport.connect({
          servers: this.o.servers,
          name: `tsbpf-trace ${this.o.host}`,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          timeout: 2000,
          pingInterval: 5000,
        });
        this.nc = nc;
        this.js = this.mods.jetstream.jetstream(nc, { timeout: this.o.ackTimeoutMs ?? 5000 });
        void this.watchStatus(nc);
        this.connected = true;
        return;
      } catch (e) {
        this.warn(
          `NATS ${this.o.servers.join(",")} unreachable (${errText(e)}); spooling events in ${this.queue.dir}`,
        );
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  private async watchStatus(nc: Conn): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") this.connected = false;
      else if (s.type === "reconnect") this.connected = true;
    }
  }

  /** Creates the stream when none holds our subject (JetStream answers 503 "no responders" then). */
  private async ensureStream(): Promise<void> {
    const nc = this.nc;
    if (!nc) return;
    const jsm = await this.mods.jetstream.jetstreamManager(nc, { timeout: 5000 });
    const name = this.o.stream ?? "TSBPF";
    try {
      await jsm.streams.info(name);
      return;
    } catch (e) {
      if (!/not found/i.test(errText(e))) throw e;
    }
    await jsm.streams.add({
      name,
      subjects: [subjectFilter(this.o.subjectTemplate)],
      num_replicas: this.o.replicas ?? 1,
      // Long enough for a retry after a server restart to still be recognised.
      duplicate_window: 10 * 60 * 1e9,
    });
  }

  private async run(): Promise<void> {
    await this.connect();
    let backoff = 100;
    let streamChecked = false;
    while (!this.closed) {
      const js = this.js;
      const batch = this.queue.peek(BATCH_BYTES);
      if (!batch || !js) {
        if (this.closing) return;
        await this.sleep(1000, true);
        continue;
      }
      try {
        if (!streamChecked) {
          await this.ensureStream();
          streamChecked = true;
        }
        const ack = await js.publish(this.o.subject, batch.bytes, {
          msgID: batchMessageId(batch.bytes),
          timeout: this.o.ackTimeoutMs ?? 5000,
        });
        if (ack.stream === undefined) throw new ExportError("no stream acknowledged the message");
        const n = countLines(batch.bytes);
        this.queue.ack();
        this.publishedMessages++;
        this.publishedEvents += n;
        backoff = 100;
        if (this.lastError !== "") {
          this.lastError = "";
          this.warn(`NATS publishing resumed (${this.queue.pendingBytes} bytes still queued)`);
        }
      } catch (e) {
        this.failedAttempts++;
        const msg = errText(e);
        // No stream for the subject (or it lost its leader): check again before the next try.
        if (/no responders|503|stream not found/i.test(msg)) streamChecked = false;
        if (/maximum payload|max_payload/i.test(msg)) {
          // A message the server will never take (a single line above its max_payload).
          this.drops.drop("oversize", countLines(batch.bytes));
          this.queue.ack();
          continue;
        }
        if (this.lastError === "")
          this.warn(`NATS publish failed (${msg}); spooling events in ${this.queue.dir}`);
        this.lastError = msg;
        // Closing: close() keeps retrying until its drain timeout, then sets `closed`.
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  describe(x: Exposition): void {
    x.each("tsbpf_export_nats_published_events_total", "counter", "Events acknowledged by JetStream", [
      [{}, this.publishedEvents],
    ]);
    x.each("tsbpf_export_nats_published_messages_total", "counter", "Messages acknowledged by JetStream", [
      [{}, this.publishedMessages],
    ]);
    x.each(
      "tsbpf_export_nats_failed_attempts_total",
      "counter",
      "Publish attempts that failed and were retried",
      [[{}, this.failedAttempts]],
    );
    x.each("tsbpf_export_nats_queued_bytes", "gauge", "Bytes of events waiting for an acknowledgement", [
      [{}, this.queue.pendingBytes],
    ]);
    x.each("tsbpf_export_nats_spooled_bytes", "gauge", "Bytes of those held on disk", [
      [{}, this.queue.spooledBytes],
    ]);
    x.each("tsbpf_export_nats_connected", "gauge", "1 while connected to a NATS server", [
      [{}, this.connected ? 1 : 0],
    ]);
  }

  /** Events not yet acknowledged (approximately: queued bytes). */
  get pendingBytes(): number {
    return this.queue.pendingBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    this.wake?.();
    const limit = this.o.drainTimeoutMs ?? 5000;
    const deadline = Date.now() + limit;
    // Also while the server is failing: it may be back within the drain timeout.
    while (!this.queue.empty && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // The attempt in flight ends first (acknowledged or not), so the spool below
    // holds exactly what the server has not acknowledged.
    this.closed = true;
    this.wake?.();
    this.wakeOnClose?.();
    await this.pumpDone?.catch(() => undefined);
    const left = this.queue.pendingBytes;
    this.queue.close();
    if (left > 0)
      this.warn(
        `${left} bytes of events not yet acknowledged are kept in ${this.queue.dir} for the next run`,
      );
    await this.nc?.close().catch(() => undefined);
  }
}
