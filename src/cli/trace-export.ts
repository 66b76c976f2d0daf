// `tsbpf trace` options of the export layer (src/export): --metrics, --rotate-size/
// --rotate-keep for -o, --nats and its settings, --host. Parsed here, applied by
// TraceExports (loaded only when one of them is given).
import { UsageError } from "../errors.ts";
import { parseListenAddress } from "../export/address.ts";
import { checkHostName, checkSubjectTemplate } from "../export/identity.ts";
import type { ExportOptions } from "../export/index.ts";
import { parseServers } from "../export/nats-client.ts";
import type { OptionTable } from "./options.ts";
import { parseByteSize } from "./size.ts";

export const EXPORT_OPTIONS: OptionTable = [
  { group: "Export (docs/running-on-many-machines.md)" },
  {
    name: "metrics",
    type: "string",
    arg: "ADDR:PORT",
    help: "serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464, :9464)",
  },
  {
    name: "rotate-size",
    type: "string",
    arg: "SIZE",
    help: "with -o FILE: rotate FILE before it passes SIZE (K/M/G); FILE.1 is the newest, SIGHUP reopens FILE",
  },
  { name: "rotate-keep", type: "string", arg: "N", help: "rotated files kept (default 5)" },
  {
    name: "nats",
    type: "string",
    arg: "URL",
    help: "publish every event to NATS JetStream (servers comma-separated: nats://a:4222,nats://b:4222)",
  },
  {
    name: "nats-subject",
    type: "string",
    arg: "SUBJECT",
    help: "subject to publish to; {host} is the host name (default tsbpf.events.{host})",
  },
  {
    name: "nats-stream",
    type: "string",
    arg: "NAME",
    help: "stream created when none holds the subject (default TSBPF)",
  },
  { name: "nats-replicas", type: "string", arg: "N", help: "replicas of a stream tsbpf creates (default 1)" },
  {
    name: "nats-spool",
    type: "string",
    arg: "DIR",
    complete: "dir",
    help: "where events wait while NATS is unreachable or slow (default /var/lib/tsbpf/spool)",
  },
  {
    name: "nats-spool-size",
    type: "string",
    arg: "SIZE",
    help: "bound of the spool (default 1G); what does not fit is reported as lost (kind export:<type>)",
  },
  {
    name: "host",
    type: "string",
    arg: "NAME",
    help: "host name in exported events (default: this machine's)",
  },
];

export interface TraceExportConfig {
  rotateSize?: number;
  rotateKeep?: number;
  /** Options for TraceExports, when any export is asked for. */
  exports?: Omit<ExportOptions, "version" | "onWarning">;
}

type Values = Record<string, string | boolean | undefined>;

function size(flag: string, v: string): number {
  const n = parseByteSize(v) ?? 0;
  if (!(n >= 1024))
    throw new UsageError(
      `trace: ${flag} expects a size of at least 1K (bytes, or with a K/M/G suffix: 100M), got '${v}'`,
    );
  return n;
}

function count(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`trace: ${flag} expects an integer (${min}..${max}), got '${v}'`);
  return Number(v);
}

export function parseTraceExportArgs(values: Values, output: string | undefined): TraceExportConfig {
  const v = values as Record<string, string | undefined>;
  const cfg: TraceExportConfig = {};
  if (v["rotate-size"] !== undefined) {
    if (output === undefined) throw new UsageError("trace: --rotate-size needs -o FILE");
    cfg.rotateSize = size("--rotate-size", v["rotate-size"]);
    cfg.rotateKeep = 5;
  }
  if (v["rotate-keep"] !== undefined) {
    if (cfg.rotateSize === undefined) throw new UsageError("trace: --rotate-keep needs --rotate-size");
    cfg.rotateKeep = count("--rotate-keep", v["rotate-keep"], 1, 1000);
  }
  const natsOnly = ["nats-subject", "nats-stream", "nats-replicas", "nats-spool", "nats-spool-size"] as const;
  if (v.nats === undefined) {
    const stray = natsOnly.find((k) => v[k] !== undefined);
    if (stray) throw new UsageError(`trace: --${stray} needs --nats URL`);
  }
  if (v.metrics === undefined && v.nats === undefined) {
    if (v.host !== undefined)
      throw new UsageError("trace: --host names this machine in exported events: it needs --nats");
    return cfg;
  }
  // The export layer's own checks (address, subject, host) are made in words that
  // name no flag; say which flag they were about.
  const flagged = <T>(flag: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new UsageError(`trace: ${flag}: ${(e as Error).message}`);
    }
  };
  const exports: NonNullable<TraceExportConfig["exports"]> = {};
  if (v.metrics !== undefined)
    exports.metrics = flagged("--metrics", () => parseListenAddress(v.metrics as string));
  if (v.host !== undefined) exports.host = flagged("--host", () => checkHostName(v.host as string));
  if (v.nats !== undefined) {
    flagged("--nats", () => parseServers(v.nats as string));
    exports.nats = { url: v.nats };
    if (v["nats-subject"] !== undefined)
      exports.nats.subject = flagged("--nats-subject", () =>
        checkSubjectTemplate(v["nats-subject"] as string),
      );
    if (v["nats-stream"] !== undefined) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(v["nats-stream"]))
        throw new UsageError(
          `trace: --nats-stream expects a stream name (letters, digits, '_', '-'), got '${v["nats-stream"]}'`,
        );
      exports.nats.stream = v["nats-stream"];
    }
    if (v["nats-replicas"] !== undefined)
      exports.nats.replicas = count("--nats-replicas", v["nats-replicas"], 1, 5);
    if (v["nats-spool"] !== undefined) exports.nats.spoolDir = v["nats-spool"];
    if (v["nats-spool-size"] !== undefined)
      exports.nats.spoolBytes = size("--nats-spool-size", v["nats-spool-size"]);
  }
  cfg.exports = exports;
  return cfg;
}
