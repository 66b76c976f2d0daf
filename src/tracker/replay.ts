// Reading a recording back: the NDJSON that `tsbpf trace --json` writes (docs/events.md),
// turned into events again, so the summary, tree and alerts can be rebuilt from a file.
// Lines without "event" (a header or schema record) are skipped; kinds this version
// does not know are skipped too, so a newer tracer's recording still replays.
import { TsbpfError } from "../errors.ts";
import type { TraceEvent } from "./events.ts";

/** The highest docs/events.md schema version this reader understands. */
export const EVENTS_SCHEMA_VERSION = 2;

/** A recording that cannot be read; the message names the file and line. */
export class RecordingError extends TsbpfError {}

const KINDS = new Set(["fork", "exec", "exec_failed", "exit", "alert", "lost"]);

/**
 * The events of NDJSON `text`, in order. Fields a version-1 recording lacks (an exit's
 * filename and argv) are filled with "unknown" values for the caller to complete.
 */
export function* readRecording(text: string, source: string): Generator<TraceEvent> {
  let lineNo = 0;
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf("\n", at);
    if (nl === -1) nl = text.length;
    lineNo++;
    const line = text.slice(at, nl).trim();
    at = nl + 1;
    if (line === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      // A last line cut by a kill is not worth failing the whole replay for.
      if (at >= text.length) return;
      throw new RecordingError(
        `${source}:${lineNo}: not a JSON line (${(e as Error).message.split("\n")[0]})`,
      );
    }
    if (v === null || typeof v !== "object" || Array.isArray(v))
      throw new RecordingError(`${source}:${lineNo}: expected a JSON object (one event per line)`);
    const ev = v as Record<string, unknown>;
    if (typeof ev.event !== "string") {
      const schema = ev.schema;
      if (typeof schema === "number" && schema > EVENTS_SCHEMA_VERSION)
        throw new RecordingError(
          `${source}:${lineNo}: recorded with event schema ${schema}; this tsbpf reads up to ${EVENTS_SCHEMA_VERSION}`,
        );
      continue;
    }
    if (!KINDS.has(ev.event)) continue;
    if (typeof ev.time !== "string" || !Number.isFinite(Date.parse(ev.time)))
      throw new RecordingError(`${source}:${lineNo}: ${ev.event} event has no valid "time"`);
    if (ev.event !== "lost" && (typeof ev.pid !== "number" || typeof ev.ppid !== "number"))
      throw new RecordingError(`${source}:${lineNo}: ${ev.event} event has no numeric "pid" and "ppid"`);
    if (ev.event === "exec" && !Array.isArray(ev.argv))
      throw new RecordingError(`${source}:${lineNo}: exec event has no "argv" array`);
    ev.comm ??= "";
    ev.exec_id ??= "";
    ev.parent_exec_id ??= "";
    if (ev.event === "exit") {
      ev.filename ??= "";
      ev.argv ??= [];
      ev.argv_truncated ??= false;
      ev.lifetime_ns ??= 0;
      ev.signal ??= null;
    }
    yield ev as unknown as TraceEvent;
  }
}
