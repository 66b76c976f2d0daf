// `tsbpf fleet`: what many `tsbpf trace --nats` hosts reported, from their JetStream
// stream: events per host, alerts across hosts as they come, and a summary per host.
import { UsageError } from "../errors.ts";
import { escapeTerminal } from "../tracker/escape.ts";
import { parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

const help = `Usage: tsbpf fleet --nats URL [options]

Reads the events that 'tsbpf trace --nats' hosts publish to a NATS JetStream stream
and shows them merged: a table of events per host (refreshed), every alert from any
host as it arrives, and at the end a summary per host (counts, lost events, top
commands, alerts, process tree). Duplicates (a publisher's retry) are dropped by
host, run and sequence number. Stop with Ctrl+C.

By default a durable consumer (--durable) follows the stream and resumes where it
stopped last time; --since replays a time window instead and stops once caught up.

Options:
      --nats URL          NATS server(s), comma-separated
      --stream NAME       the stream (default TSBPF)
      --subject S         only these subjects (default: all of the stream's;
                          e.g. tsbpf.events.web-1)
      --durable NAME      durable consumer name (default tsbpf-fleet)
      --since DURATION    replay from DURATION ago (30s, 15m, 2h, 1d) or from an
                          ISO time, then stop (add --follow to keep reading)
      --follow            with --since: keep reading after catching up
      --json              print the merged, deduplicated events (NDJSON, with
                          host, run and seq) instead of the tables
      --interval S        seconds between table refreshes (default 2)
  -d, --duration S        stop after S seconds
  -h, --help              show this help

Examples:
  tsbpf fleet --nats nats://nats.internal:4222
  tsbpf fleet --nats nats://nats.internal:4222 --since 1h
  tsbpf fleet --nats nats://nats.internal:4222 --json | jq 'select(.event=="alert")'`;

const SPEC = {
  nats: { type: "string" },
  stream: { type: "string" },
  subject: { type: "string" },
  durable: { type: "string" },
  since: { type: "string" },
  follow: { type: "boolean" },
  json: { type: "boolean" },
  interval: { type: "string" },
  duration: { type: "string", short: "d" },
} as const;

function seconds(flag: string, v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v) || !(Number(v) > 0))
    throw new UsageError(`fleet: ${flag} expects seconds (> 0), got '${v}'`);
  return Number(v);
}

/** "15m" → 15 minutes ago; an ISO 8601 time as is. */
export function parseSince(v: string, now = Date.now()): Date {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(v);
  if (m) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as "s" | "m" | "h" | "d"];
    return new Date(now - Number(m[1]) * unit);
  }
  const t = Date.parse(v);
  if (/^\d{4}-\d\d-\d\d/.test(v) && Number.isFinite(t)) return new Date(t);
  throw new UsageError(`fleet: --since expects a duration (30s, 15m, 2h, 1d) or an ISO time, got '${v}'`);
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

const fleet: Command = {
  name: "fleet",
  summary: "the merged view of many tracers' events from NATS JetStream",
  help,
  spec: SPEC,
  async run(args) {
    const { values: v, positionals } = parseCommandArgs("fleet", args, SPEC, true);
    if (positionals.length > 0) throw new UsageError(`fleet: unexpected argument '${positionals[0]}'`);
    if (v.nats === undefined)
      throw new UsageError("fleet: --nats URL is required (see 'tsbpf fleet --help')");
    const { parseServers } = await import("../export/nats-client.ts");
    let servers: string[];
    try {
      servers = parseServers(v.nats);
    } catch (e) {
      throw new UsageError(`fleet: --nats: ${(e as Error).message}`);
    }
    const stream = v.stream ?? "TSBPF";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream))
      throw new UsageError(`fleet: --stream expects a stream name, got '${stream}'`);
    const durable = v.durable ?? "tsbpf-fleet";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(durable))
      throw new UsageError(
        `fleet: --durable expects a consumer name (letters, digits, '_', '-'), got '${durable}'`,
      );
    if (v.follow && v.since === undefined) throw new UsageError("fleet: --follow goes with --since");
    const since = v.since !== undefined ? parseSince(v.since) : undefined;
    const intervalMs = seconds("--interval", v.interval ?? "2") * 1000;
    const durationMs = v.duration !== undefined ? seconds("--duration", v.duration) * 1000 : undefined;

    const { FleetView, consumeFleet } = await import("../export/fleet.ts");
    const view = new FleetView();
    const out = process.stdout;
    const ac = new AbortController();
    const onSignal = () => ac.abort();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const timer = durationMs !== undefined ? setTimeout(() => ac.abort(), durationMs) : undefined;
    const json = v.json ?? false;
    const dec = new TextDecoder();
    const table = () => {
      const rows = [...view.hosts.values()].sort((a, b) => (a.host < b.host ? -1 : 1));
      const lines = [
        `${"HOST".padEnd(24)} ${pad("EVENTS", 8)} ${pad("FORK", 7)} ${pad("EXEC", 7)} ${pad("EXIT", 7)} ${pad("ALERTS", 7)} ${pad("LOST", 6)} LAST EVENT`,
      ];
      for (const h of rows) {
        let total = 0;
        for (const n of h.counts.values()) total += n;
        const c = (k: string) => h.counts.get(k) ?? 0;
        lines.push(
          `${escapeTerminal(h.host).padEnd(24)} ${pad(total, 8)} ${pad(c("fork"), 7)} ${pad(c("exec"), 7)} ${pad(c("exit"), 7)} ${pad(h.alerts, 7)} ${pad(h.lost, 6)} ${escapeTerminal(h.lastTime)}`,
        );
      }
      return `${lines.join("\n")}\n`;
    };
    let dirty = false;
    const refresh = json
      ? undefined
      : setInterval(() => {
          if (!dirty) return;
          dirty = false;
          out.write(`\n${new Date().toISOString()}\n${table()}`);
        }, intervalMs);
    try {
      await consumeFleet({
        servers,
        stream,
        durable,
        subject: v.subject,
        since,
        untilCaughtUp: since !== undefined && !v.follow,
        signal: ac.signal,
        onMessage: (body) => {
          const text = dec.decode(body);
          for (const line of text.split("\n")) {
            if (line === "") continue;
            const ev = view.add(line);
            if (!ev) continue;
            dirty = true;
            if (json) out.write(`${line}\n`);
            else if (ev.event === "alert")
              out.write(
                `ALERT ${escapeTerminal(ev.time)} ${escapeTerminal(ev.host)} ${escapeTerminal(ev.rule)} (${escapeTerminal(ev.severity)}) pid ${ev.pid} ${escapeTerminal(ev.comm)}: ${escapeTerminal(ev.reason)}\n`,
              );
          }
        },
      });
    } finally {
      if (timer) clearTimeout(timer);
      if (refresh) clearInterval(refresh);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    if (!json) {
      out.write(`\n${table()}`);
      for (const h of [...view.hosts.values()].sort((a, b) => (a.host < b.host ? -1 : 1))) {
        out.write(`\n=== ${escapeTerminal(h.host)} ===`);
        out.write(`${h.summary.render(h.table, { width: out.columns ?? 120 })}\n`);
        if (h.duplicates > 0) out.write(`(${h.duplicates} duplicate events dropped)\n`);
      }
      if (view.malformed > 0) out.write(`\n${view.malformed} lines were not tsbpf events\n`);
    }
    return 0;
  },
};

export default fleet;
